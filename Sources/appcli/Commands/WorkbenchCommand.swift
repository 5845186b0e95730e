import ArgumentParser
import Foundation
import OneTripAPI
import SyncCore

/// `appcli workbench list|show|act`: the clerk's department queue (online only: clerks work at the window).
struct WorkbenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workbench", abstract: "Clerks: the department's case queue and the actions that move cases (online).",
        subcommands: [List.self, Show.self, Act.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The queue, oldest submission first; overdue cases flagged.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only cases in this state (submitted, accepted, under_review, …).") var state: String?
        @Flag(help: "Only overdue cases.") var overdue = false
        @Option(help: "Only cases of this matter code.") var matter: String?
        @Option(help: "Most cases (1–200).") var limit: Int = 50

        func validate() throws {
            if let state, Components.Schemas.CaseState(rawValue: state) == nil {
                throw ValidationError("--state must be one of \(CaseState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard (1...200).contains(limit) else { throw ValidationError("--limit must be 1–200") }
        }

        func run() async throws {
            try await withSession(global) { session in
                _ = try session.requireAccount()
                try session.requireOnline("workbench")
                let output = try await session.client.listWorkbenchCases(
                    query: .init(
                        state: state.flatMap(Components.Schemas.CaseState.init(rawValue:)), overdue: overdue ? true : nil, matter: matter,
                        limit: limit))
                guard case .ok(let ok) = output else { throw CLIError.from(output) }
                let items = try ok.body.json.items
                if global.json { return try printJSON(items) }
                guard !items.isEmpty else { return print("the queue is empty") }
                var table = Table(["办件编号", "事项", "状态", "提交", "承诺办结", "到现场", "", "可办理"])
                for item in items {
                    let found = try Case(item._case)
                    let flags = [item.overdue ? "超期" : nil, item.brokeOneTripPromise ? "超跑动" : nil].compactMap { $0 }.joined(separator: " ")
                    table.append([
                        found.id, clip(found.matterName, 24), found.state.label, found.submittedAt.map(ChinaTime.minute) ?? "—",
                        found.deadline ?? "—",
                        "\(found.visits)/\(found.promisedVisits)", flags, (item.allowedActions ?? []).joined(separator: ","),
                    ])
                }
                print(table.render())
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One case of the queue with its timeline.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Case id.") var caseID: String

        func run() async throws {
            try await withSession(global) { session in
                _ = try session.requireAccount()
                try session.requireOnline("workbench")
                let output = try await session.client.getCase(path: .init(id: caseID))
                guard case .ok(let ok) = output else { throw CLIError.from(output) }
                let view = CaseTrackView(try Case(try ok.body.json), today: ChinaTime.today, unsynced: false)
                if global.json { return try printJSON(view) }
                print(view.render())
            }
        }
    }

    struct Act: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Move a case: accept, acceptPending, requestCorrection, rejectIntake, startReview, suspend, resume, requirePayment, approve, deny, recordVisit, deliver, complete.",
            discussion: """
                Examples:
                  appcli workbench act case_… accept
                  appcli workbench act case_… requestCorrection --items 身份证,户口簿 --note 请补正
                  appcli workbench act case_… acceptPending --items 结婚证 --due 2026-12-31
                  appcli workbench act case_… deliver --delivery express --tracking EMS123
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Case id.") var caseID: String
        @Argument(help: "The action.") var action: String
        @Option(help: "A note for the timeline (a reason is required for rejectIntake, suspend and deny).") var note: String?
        @Option(help: "Comma-separated items: the corrections (requestCorrection) or the pending materials (acceptPending).") var items: String?
        @Option(help: "acceptPending: the date (YYYY-MM-DD) the pending materials are promised by.") var due: String?
        @Option(help: "deliver: window, express or e_license.") var delivery: String?
        @Option(help: "deliver by express: the tracking number.") var tracking: String?

        func validate() throws {
            guard Components.Schemas.CaseActionRequest.ActionPayload(rawValue: action) != nil else {
                throw ValidationError(
                    "ACTION must be one of \(Components.Schemas.CaseActionRequest.ActionPayload.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let delivery, Components.Schemas.CaseActionRequest.DeliveryMethodPayload(rawValue: delivery) == nil {
                throw ValidationError("--delivery must be window, express or e_license")
            }
        }

        func run() async throws {
            let list = items?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let request = Components.Schemas.CaseActionRequest(
                action: .init(rawValue: action)!, note: note, correctionItems: action == "requestCorrection" ? list : nil,
                pendingMaterials: action == "acceptPending" ? list : nil, pendingDue: due,
                deliveryMethod: delivery.flatMap(Components.Schemas.CaseActionRequest.DeliveryMethodPayload.init(rawValue:)), trackingNumber: tracking
            )
            try await withSession(global) { session in
                _ = try session.requireAccount()
                try session.requireOnline("workbench")
                let output = try await session.client.actOnCase(path: .init(id: caseID), body: .json(request))
                guard case .ok(let ok) = output else { throw CLIError.from(output) }
                let moved = try Case(try ok.body.json)
                if global.json { return try printJSON(moved) }
                print("\(moved.id): \(action) → \(moved.state.label)（\(moved.state.rawValue)）")
            }
        }
    }
}
