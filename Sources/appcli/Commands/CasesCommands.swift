import ArgumentParser
import Foundation
import SyncCore

/// `appcli cases`: my cases from the replica (works offline), or from the server with `--remote`.
struct CasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cases", abstract: "List my cases (办件), newest activity first.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only cases in this state (e.g. submitted, correction_required, completed).") var state: String?
    @Flag(help: "Ask the server (GET /v1/cases) instead of the replica.") var remote = false
    @Option(help: "Most cases to list.") var limit: Int = 50

    func validate() throws {
        if let state, CaseState(rawValue: state) == nil {
            throw ValidationError("--state must be one of \(CaseState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (1...200).contains(limit) else { throw ValidationError("--limit must be 1–200") }
    }

    func run() async throws {
        try await withSession(global) { session in
            let account = try session.requireAccount()
            var cases: [Case]
            var unsynced = Set<String>()
            if remote {
                try session.requireOnline("cases --remote")
                let output = try await session.client.listMyCases(query: .init(limit: limit))
                guard case .ok(let ok) = output else { throw CLIError.from(output) }
                cases = try ok.body.json.items.map(Case.init)
            } else {
                let replica = try session.replica
                cases = try replica.entities(Case.self, in: .user(account.id)).sorted { $0.lastActivity > $1.lastActivity }
                unsynced = try unsyncedCaseIDs(replica)
            }
            if let state { cases = cases.filter { $0.state.rawValue == state } }
            cases = Array(cases.prefix(limit))
            if global.json { return try printJSON(cases) }
            guard !cases.isEmpty else {
                return print(remote ? "no cases on the server" : "no cases on this device (run `appcli sync` to fetch them)")
            }
            var table = Table(["办件编号", "事项", "状态", "提交", "承诺办结", "到现场", ""])
            for item in cases {
                table.append([
                    item.id, clip(item.matterName, 26), item.state.label, item.submittedAt.map(ChinaTime.minute) ?? "—", item.deadline ?? "—",
                    "\(item.visits)/\(item.promisedVisits)", unsynced.contains(item.id) ? "⇡未同步" : "",
                ])
            }
            print(table.render())
        }
    }
}

/// `appcli track ID`: one case — state, deadline countdown, visits, materials and the timeline — from the replica.
struct TrackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "track", abstract: "Show a case's timeline, deadline countdown and visits.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Case id (or a unique prefix or suffix).") var caseID: String

    func run() async throws {
        try await withSession(global) { session in
            _ = try session.requireAccount()
            let replica = try session.replica
            let found = try findCase(caseID, in: replica)
            let view = CaseTrackView(
                found, today: ChinaTime.today, unsynced: try unsyncedCaseIDs(replica).contains(found.id),
                holidays: try replica.entity(HolidayCalendar.self, id: HolidayCalendar.id))
            if global.json { return try printJSON(view) }
            print(view.render())
        }
    }
}

/// `appcli withdraw ID`: withdraw a case before its decision (may lose the race against a clerk's decision).
struct WithdrawCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "withdraw", abstract: "Withdraw a case before its decision (works offline).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Case id (or a unique prefix or suffix).") var caseID: String
    @Option(help: "Why (kept in the timeline).") var reason: String?

    func run() async throws {
        try await withSession(global) { session in
            _ = try session.requireAccount()
            let replica = try session.replica
            let target = try findCase(caseID, in: replica)
            let committed = try await commit(session, [(CaseWithdraw.name, CaseWithdraw.Args(caseId: target.id, reason: reason))])
            try printCases([try findCase(target.id, in: replica)], session: session, committed: committed)
        }
    }
}

/// `appcli supplement ID`: hand in what a 补正 or 容缺 asked for.
struct SupplementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supplement", abstract: "Hand in materials for a 补正 (correction) or 容缺 (pending) case (works offline; files need the server).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Case id (or a unique prefix or suffix).") var caseID: String
    @OptionGroup var materials: MaterialOptions

    func run() async throws {
        guard !materials.isEmpty else {
            throw CLIError.usage("give the materials: --material NAME=FILE, --paper NAME, --license NAME=TYPE:ID or --rest-on-paper")
        }
        try await withSession(global) { session in
            _ = try session.requireAccount()
            let replica = try session.replica
            let target = try findCase(caseID, in: replica)
            let asked = target.state == .correctionRequired ? target.correctionItems : target.pendingMaterials
            let known = (try replica.entity(Matter.self, id: target.matterCode)?.materials.map(\.name) ?? []) + asked
            let given = try await materials.resolve(known: known, required: asked, session: session)
            let committed = try await commit(session, [(CaseSupplement.name, CaseSupplement.Args(caseId: target.id, materials: given))])
            try printCases([try findCase(target.id, in: replica)], session: session, committed: committed)
        }
    }
}

/// `appcli rate ID LEVEL`: 好差评 for a completed case, once.
struct RateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rate", abstract: "Rate a completed case: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意 (works offline).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Case id (or a unique prefix or suffix).") var caseID: String
    @Argument(help: "1–5, or the label (非常满意 … 非常不满意).") var level: String
    @Option(help: "A comment (at most 500 characters).") var comment: String?

    func run() async throws {
        let labels = ["非常不满意": 1, "不满意": 2, "基本满意": 3, "满意": 4, "非常满意": 5]
        guard let value = Int(level) ?? labels[level], (1...5).contains(value) else { throw CLIError.usage("LEVEL must be 1–5 or a label") }
        try await withSession(global) { session in
            _ = try session.requireAccount()
            let replica = try session.replica
            let target = try findCase(caseID, in: replica)
            let committed = try await commit(session, [(CaseRate.name, CaseRate.Args(caseId: target.id, level: value, comment: comment))])
            try printCases([try findCase(target.id, in: replica)], session: session, committed: committed)
        }
    }
}
