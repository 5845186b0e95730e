import ArgumentParser
import Foundation
import SyncCore

/// `appcli apply`: apply for a matter or a 一件事 bundle. The cases are made on the replica with the same mutators the
/// server runs (`case.saveDraft`, `case.submit`), so applying works offline and is sent by the next sync.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Apply for a matter or a bundle (works offline; files need the server).",
        discussion: """
            Examples:
              appcli apply 330100-PS-0003 --field 事由=换领
              appcli apply 330100-RE-0004 --material 不动产权证书=deed.pdf --rest-on-paper
              appcli apply --bundle BND-BUSINESS-START --rest-on-paper --draft
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Matter code (see `appcli catalog search`).") var matterCode: String?
    @Option(help: "A bundle code instead of a matter (see `appcli bundles`).") var bundle: String?
    @Option(name: .customLong("field"), help: "KEY=VALUE of the application form (repeatable).") var fields: [String] = []
    @OptionGroup var materials: MaterialOptions
    @Flag(help: "Keep a draft (edit with `appcli edit`, submit with `appcli submit`).") var draft = false

    func validate() throws {
        guard (matterCode == nil) != (bundle == nil) else { throw ValidationError("give a matter code or --bundle CODE (one of them)") }
    }

    func run() async throws {
        try await withSession(global) { session in
            _ = try session.requireAccount()
            let replica = try catalogReplica(session)
            var bundleSubmissionID: String?
            let matters: [Matter]
            if let bundle {
                guard let found = try replica.entity(MatterBundle.self, id: bundle) else {
                    throw CLIError.rejected(code: "not_found", detail: "no bundle has the code '\(bundle)' (see `appcli bundles`)")
                }
                matters = try found.matterCodes.compactMap { try replica.entity(Matter.self, id: $0) }
                bundleSubmissionID = newID("bun_")
            } else {
                guard let matter = try replica.entity(Matter.self, id: matterCode!) else {
                    throw CLIError.rejected(code: "not_found", detail: "no matter has the code '\(matterCode!)' (see `appcli catalog search`)")
                }
                matters = [matter]
            }
            let form = try parseFields(fields)
            // Materials are matched by name; a bundle hands the same material to every matter that lists it.
            let everyName = Array(Set(matters.flatMap { $0.materials.map(\.name) })).sorted()
            let everyRequired = Array(Set(matters.flatMap { $0.materials.filter(\.required).map(\.name) })).sorted()
            let given = try await materials.resolve(known: everyName, required: everyRequired, session: session)
            var plans: [(matter: Matter, caseID: String, submit: CaseSubmit.Args?)] = []
            var missing: [String] = []
            for matter in matters {
                let names = Set(matter.materials.map(\.name))
                let own = given.filter { names.contains($0.name) }
                let required = matter.materials.filter(\.required).map(\.name)
                missing += required.filter { name in !own.contains { $0.name == name } }.map { "\(matter.name)：\($0)" }
                let caseID = newID("case_")
                plans.append((matter, caseID, CaseSubmit.Args(caseId: caseID, materials: own)))
            }
            // Say everything that is missing at once (一次性告知), before anything is queued.
            if !draft && !missing.isEmpty {
                throw CLIError.usage(
                    "missing materials — \(missing.joined(separator: "; ")). Give them with --material/--paper/--license, --rest-on-paper, or keep a --draft"
                )
            }
            var changes: [(name: String, args: any Encodable)] = []
            for plan in plans {
                changes.append(
                    (
                        CaseSaveDraft.name,
                        CaseSaveDraft.Args(caseId: plan.caseID, matter: plan.matter, bundleSubmissionId: bundleSubmissionID, fields: form)
                    ))
                if !draft, let submit = plan.submit { changes.append((CaseSubmit.name, submit)) }
            }
            let committed = try await commit(session, changes)
            let cases = try plans.compactMap { try replica.entity(Case.self, id: $0.caseID) }
            try printCases(cases, session: session, committed: committed)
        }
    }
}

/// `appcli edit`: change fields of a draft's form (per-field last-writer-wins across devices).
struct EditDraftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "edit", abstract: "Edit a draft's form fields (works offline).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Case id (or a unique prefix or suffix).") var caseID: String
    @Option(name: .customLong("field"), help: "KEY=VALUE (repeatable; an empty VALUE clears the field).") var fields: [String] = []

    func run() async throws {
        guard !fields.isEmpty else { throw CLIError.usage("give at least one --field KEY=VALUE") }
        try await withSession(global) { session in
            _ = try session.requireAccount()
            let replica = try session.replica
            let draft = try findCase(caseID, in: replica)
            let args = CaseSaveDraft.Args(
                caseId: draft.id, matterCode: draft.matterCode, bundleSubmissionId: draft.bundleSubmissionId, fields: try parseFields(fields))
            let committed = try await commit(session, [(CaseSaveDraft.name, args)])
            try printCases([try findCase(draft.id, in: replica)], session: session, committed: committed)
        }
    }
}

/// `appcli submit`: submit a draft with its materials.
struct SubmitDraftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "submit", abstract: "Submit a draft (works offline; files need the server).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Case id (or a unique prefix or suffix).") var caseID: String
    @OptionGroup var materials: MaterialOptions

    func run() async throws {
        try await withSession(global) { session in
            _ = try session.requireAccount()
            let replica = try session.replica
            let draft = try findCase(caseID, in: replica)
            let matter = try replica.entity(Matter.self, id: draft.matterCode)
            let known = matter?.materials.map(\.name) ?? []
            let required = matter?.materials.filter(\.required).map(\.name) ?? draft.requiredMaterials
            let given = try await materials.resolve(known: known, required: required, session: session)
            let args = CaseSubmit.Args(caseId: draft.id, materials: given)
            let committed = try await commit(session, [(CaseSubmit.name, args)])
            try printCases([try findCase(draft.id, in: replica)], session: session, committed: committed)
        }
    }
}

/// Prints cases after a change: JSON, or a table with a line on where the change stands.
func printCases(_ cases: [Case], session: Session, committed: CommittedChange) throws {
    if session.global.json { return try printJSON(cases) }
    var table = Table(["办件编号", "事项", "状态"])
    for item in cases { table.append([item.id, clip(item.matterName, 30), item.state.label]) }
    print(table.render())
    print(
        committed.synced
            ? "synced with the server" : "offline: queued in the outbox (\(committed.ids.count) change(s)); `appcli offline off` sends them")
}
