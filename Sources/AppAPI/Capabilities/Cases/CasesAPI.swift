import Foundation
import OneTripAPI
import OpenAPIRuntime
import SQLKit
import SyncCore

/// The applicant's case routes. Each mirrors a mutator and runs it through the sync engine's `MutationRunner`, so a
/// phone that applies offline and one that calls these routes get exactly the same rules.
extension APIImplementation {
    func createCase(_ input: Operations.CreateCase.Input) async throws -> Operations.CreateCase.Output {
        let me = try await authenticate(AccountRole.applicants)
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let request = try SyncJSON.encoder.encode(body)
        let plan = try await caseDrafts(for: body)
        let materials = try (body.materials ?? []).map(SubmittedMaterial.init)
        let fields = body.form?.additionalProperties ?? [:]
        let submit = body.submit ?? true
        let key = input.headers.idempotencyKey
        let runtime = runtime
        // The key, the cases and the stored answer commit together: a crash or a failed commit leaves neither.
        let replay = try await sync.transaction(for: me) { [idempotency] batch in
            try await idempotency.run(key: key, accountID: me.accountID, operation: "createCase", request: request, on: batch.log.db) {
                var created: [Case] = []
                let bundleSubmission = plan.isBundle ? "bun_" + runtime.newID() : nil
                for matter in plan.matters {
                    let id = "case_" + runtime.newID()
                    try await batch.run(
                        CaseSaveDraft.name, args: CaseSaveDraft.Args(caseId: id, matter: matter, bundleSubmissionId: bundleSubmission, fields: fields)
                    )
                    if submit {
                        // Materials are matched by name; a bundle hands the same files to every case that names them.
                        let own = materials.filter { material in matter.materials.contains { $0.name == material.name } }
                        try await batch.run(CaseSubmit.name, args: CaseSubmit.Args(caseId: id, materials: own))
                    }
                    if let found = try await batch.entity(Case.self, id: id, in: .user(me.accountID)) { created.append(found) }
                }
                return (201, try JSONEncoder().encode(Components.Schemas.CaseList(items: created)))
            }
        }
        return .created(.init(body: .json(try JSONDecoder().decode(Components.Schemas.CaseList.self, from: replay.response))))
    }

    func listMyCases(_ input: Operations.ListMyCases.Input) async throws -> Operations.ListMyCases.Output {
        let me = try await authenticate()
        let limit = input.query.limit ?? 50
        guard (1...200).contains(limit) else { throw AppError.invalidParameter("limit", "must be between 1 and 200") }
        let cases = try await self.cases.cases(of: me.accountID, limit: limit)
        return .ok(.init(body: .json(.init(items: cases))))
    }

    func getCase(_ input: Operations.GetCase.Input) async throws -> Operations.GetCase.Output {
        let me = try await authenticate()
        let id = input.path.id
        guard PathID.isPlausible(id), let found = try await cases.read(id), CaseRoutes.mayRead(found, me) else {
            throw AppError.notFound("No case \(id.prefix(128)) for you.")
        }
        return .ok(.init(body: .json(found)))
    }

    func withdrawCase(_ input: Operations.WithdrawCase.Input) async throws -> Operations.WithdrawCase.Output {
        let reason: String? = if case .json(let body) = input.body { body.reason } else { nil }
        let updated = try await runCaseMutation(
            CaseWithdraw.name, args: CaseWithdraw.Args(caseId: input.path.id, reason: reason), caseID: input.path.id)
        return .ok(.init(body: .json(updated)))
    }

    func supplementCase(_ input: Operations.SupplementCase.Input) async throws -> Operations.SupplementCase.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let materials = try body.materials.map(SubmittedMaterial.init)
        let updated = try await runCaseMutation(
            CaseSupplement.name, args: CaseSupplement.Args(caseId: input.path.id, materials: materials), caseID: input.path.id)
        return .ok(.init(body: .json(updated)))
    }

    func rateCase(_ input: Operations.RateCase.Input) async throws -> Operations.RateCase.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let updated = try await runCaseMutation(
            CaseRate.name, args: CaseRate.Args(caseId: input.path.id, level: body.level, comment: body.comment), caseID: input.path.id)
        return .ok(.init(body: .json(updated)))
    }

    // MARK: Helpers

    /// The matters a create request drafts cases for: one matter, or a bundle's matters (from the catalog in the
    /// change log's `public` scope).
    private func caseDrafts(for body: Components.Schemas.CreateCaseRequest) async throws -> (matters: [Matter], isBundle: Bool) {
        try await database.read { db in
            switch (body.matterCode, body.bundleCode) {
            case (let code?, nil):
                guard PathID.isPlausible(code), let matter = try await ChangeLog.entity(Matter.self, id: code, in: .public, on: db) else {
                    throw AppError.notFound("No matter has the code '\(code.prefix(128))'.")
                }
                return ([matter], false)
            case (nil, let code?):
                guard PathID.isPlausible(code), let bundle = try await ChangeLog.entity(MatterBundle.self, id: code, in: .public, on: db) else {
                    throw AppError.notFound("No bundle has the code '\(code.prefix(128))'.")
                }
                var matters: [Matter] = []
                for matterCode in bundle.matterCodes {
                    if let matter = try await ChangeLog.entity(Matter.self, id: matterCode, in: .public, on: db) { matters.append(matter) }
                }
                return (matters, true)
            default:
                throw AppError(.invalidArgs, "Give exactly one of matterCode or bundleCode.")
            }
        }
    }

    private func runCaseMutation(_ name: String, args: some Encodable & Sendable, caseID: String) async throws -> Case {
        let me = try await authenticate(AccountRole.applicants)
        return try await sync.transaction(for: me) { batch in
            try await batch.run(name, args: args)
            guard let updated = try await batch.entity(Case.self, id: caseID, in: .user(me.accountID)) else {
                throw AppError.notFound("No case \(caseID.prefix(128)) for you.")
            }
            return updated
        }
    }
}

/// Rules the case routes share.
enum CaseRoutes {
    /// Who may read a case: its applicant; an admin (supervision, drafts included, deliberately); a clerk of the
    /// handling department once it is submitted (a draft is the applicant's alone).
    static func mayRead(_ caseFile: Case, _ identity: Identity) -> Bool {
        caseFile.accountId == identity.accountID || identity.kind == .admin
            || (identity.kind == .clerk && identity.departmentID == caseFile.departmentId && caseFile.state != .draft)
    }
}

extension SubmittedMaterial {
    init(_ material: Components.Schemas.SubmittedMaterial) throws {
        self.init(
            name: material.name, blobSha256: material.blobSha256, eLicenseType: material.eLicenseType, eLicenseId: material.eLicenseId,
            paper: material.paper ?? false)
    }
}
