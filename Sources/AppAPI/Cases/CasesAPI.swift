import Foundation
import OpenAPIRuntime
import SQLKit
import SyncCore

/// The applicant's case routes. Each mirrors a mutator and runs it through `SyncService.run`, so a phone that
/// applies offline and one that calls these routes get exactly the same rules.
extension APIImplementation {
    func createCase(_ input: Operations.CreateCase.Input) async throws -> Operations.CreateCase.Output {
        let me = try await authenticate(AccountKind.applicants)
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let request = try SyncJSON.encoder.encode(body)
        let replay = try await idempotency.run(key: input.headers.idempotencyKey, accountID: me.accountID, operation: "createCase", request: request) {
            let created = try await createCases(body, for: me)
            return (201, try JSONEncoder().encode(Components.Schemas.CaseList(items: try created.map(Components.Schemas.Case.init))))
        }
        return .created(.init(body: .json(try JSONDecoder().decode(Components.Schemas.CaseList.self, from: replay.response))))
    }

    func listMyCases(_ input: Operations.ListMyCases.Input) async throws -> Operations.ListMyCases.Output {
        let me = try await authenticate()
        let limit = input.query.limit ?? 50
        guard (1...200).contains(limit) else { throw AppError.invalidParameter("limit", "must be between 1 and 200") }
        let cases = try await self.cases.cases(of: me.accountID, limit: limit)
        return .ok(.init(body: .json(.init(items: try cases.map(Components.Schemas.Case.init)))))
    }

    func getCase(_ input: Operations.GetCase.Input) async throws -> Operations.GetCase.Output {
        let me = try await authenticate()
        guard let found = try await database.read({ db in try await cases.load(input.path.id, on: db) }), Self.mayRead(found, me) else {
            return .notFound(.init(body: .applicationProblemJson(problem(.notFound("No case \(input.path.id) for you.")))))
        }
        return .ok(.init(body: .json(try .init(found))))
    }

    func withdrawCase(_ input: Operations.WithdrawCase.Input) async throws -> Operations.WithdrawCase.Output {
        let reason: String? = if case .json(let body) = input.body { body.reason } else { nil }
        let updated = try await runCaseMutation(CaseWithdraw.name, args: CaseWithdraw.Args(caseId: input.path.id, reason: reason), caseID: input.path.id)
        return .ok(.init(body: .json(try .init(updated))))
    }

    func supplementCase(_ input: Operations.SupplementCase.Input) async throws -> Operations.SupplementCase.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let materials = try body.materials.map(SubmittedMaterial.init)
        let updated = try await runCaseMutation(CaseSupplement.name, args: CaseSupplement.Args(caseId: input.path.id, materials: materials), caseID: input.path.id)
        return .ok(.init(body: .json(try .init(updated))))
    }

    func rateCase(_ input: Operations.RateCase.Input) async throws -> Operations.RateCase.Output {
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let updated = try await runCaseMutation(
            CaseRate.name, args: CaseRate.Args(caseId: input.path.id, level: body.level, comment: body.comment), caseID: input.path.id)
        return .ok(.init(body: .json(try .init(updated))))
    }

    // MARK: Helpers

    static func mayRead(_ case_: Case, _ identity: Identity) -> Bool {
        case_.accountId == identity.accountID || identity.kind == .admin || (identity.kind == .clerk && identity.departmentID == case_.departmentId)
    }

    /// Drafts (and by default submits) one case per matter of the request, in one transaction: a rejection of any
    /// of them creates none.
    private func createCases(_ body: Components.Schemas.CreateCaseRequest, for me: Identity) async throws -> [Case] {
        let matters: [Matter]
        var bundleSubmissionID: String?
        switch (body.matterCode, body.bundleCode) {
        case (let code?, nil):
            guard let matter = try await catalog.matter(code: code) else { throw AppError.notFound("No matter has the code '\(code)'.") }
            matters = [matter]
        case (nil, let code?):
            guard let bundle = try await catalog.bundles().first(where: { $0.code == code }) else { throw AppError.notFound("No bundle has the code '\(code)'.") }
            var found: [Matter] = []
            for matterCode in bundle.matterCodes {
                if let matter = try await catalog.matter(code: matterCode) { found.append(matter) }
            }
            matters = found
            bundleSubmissionID = "bun_" + Self.newID()
        default:
            throw AppError.badRequest("Give exactly one of matterCode or bundleCode.", code: "invalid_args")
        }
        let materials = try (body.materials ?? []).map(SubmittedMaterial.init)
        let submit = body.submit ?? true
        let bundleID = bundleSubmissionID
        return try await database.transaction { [sync] db in
            var records: [ChangeRecord] = []
            var ids: [String] = []
            for matter in matters {
                let id = "case_" + Self.newID()
                ids.append(id)
                let draft = CaseSaveDraft.Args(caseId: id, matter: matter, bundleSubmissionId: bundleID, fields: body.form?.additionalProperties ?? [:])
                records += try Self.unwrap(try await sync.run(CaseSaveDraft.name, args: SyncJSON.encode(draft), context: sync.context(for: me), on: db, pending: records))
                if submit {
                    // Materials are matched by name; a bundle hands the same files to every case that names them.
                    let required = matter.materials.filter(\.required).map(\.name)
                    let own = materials.filter { material in matter.materials.contains { $0.name == material.name } }
                    let args = CaseSubmit.Args(caseId: id, materials: own, requiredMaterials: required, idCardOnly: matter.idCardOnly)
                    records += try Self.unwrap(try await sync.run(CaseSubmit.name, args: SyncJSON.encode(args), context: sync.context(for: me), on: db, pending: records))
                }
            }
            try await ChangeLog.append(SyncService.latestPerEntity(records), on: db)
            var created: [Case] = []
            for id in ids { if let found = try await CaseStore.loadFromLog(id, scope: .user(me.accountID), on: db) { created.append(found) } }
            return created
        }
    }

    private func runCaseMutation(_ name: String, args: some Encodable, caseID: String) async throws -> Case {
        let me = try await authenticate(AccountKind.applicants)
        let json = SyncJSON.encode(args)
        return try await database.transaction { [sync] db in
            let records = try Self.unwrap(try await sync.run(name, args: json, context: sync.context(for: me), on: db))
            try await ChangeLog.append(SyncService.latestPerEntity(records), on: db)
            guard let updated = try await CaseStore.loadFromLog(caseID, scope: .user(me.accountID), on: db) else {
                throw AppError.notFound("No case \(caseID) for you.")
            }
            return updated
        }
    }

    /// A mutator's rejection as the HTTP problem an app expects.
    static func unwrap(_ result: Result<[ChangeRecord], MutationRejection>) throws -> [ChangeRecord] {
        switch result {
        case .success(let records): return records
        case .failure(let rejection): throw AppError(rejection)
        }
    }

    static func newID() -> String { UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20).description }
}

extension AppError {
    /// Maps a mutator or workflow rejection to a status: unknown or foreign → 404, wrong state → 409, else 422.
    init(_ rejection: MutationRejection) {
        switch rejection.code {
        case "not_found", "forbidden":
            self = .notFound(rejection.detail)
            code = rejection.code == "forbidden" ? "not_found" : rejection.code
        case "invalid_transition", "not_draft", "not_completed", "already_rated":
            self.init(status: .conflict, code: rejection.code, title: "Not possible now", detail: rejection.detail)
        case "forbidden_action":
            self.init(status: .forbidden, code: rejection.code, title: "Forbidden", detail: rejection.detail)
        default:
            self.init(status: .unprocessableContent, code: rejection.code, title: "Invalid request", detail: rejection.detail)
        }
    }
}

extension SyncService {
    /// The context for a mutation made through a REST route (no sync client: stamped by the server's clock).
    func context(for identity: Identity) -> MutationContext {
        MutationContext(accountID: identity.accountID, clientID: "server", hlc: clock.now(), now: Int64(Clock.nowMillis()))
    }
}

extension Components.Schemas.Case {
    init(_ case_: Case) throws {
        self = try JSONDecoder().decode(Components.Schemas.Case.self, from: Data(SyncJSON.encode(case_)))
    }
}

extension SubmittedMaterial {
    init(_ material: Components.Schemas.SubmittedMaterial) throws {
        self.init(
            name: material.name, blobSha256: material.blobSha256, eLicenseType: material.eLicenseType, eLicenseId: material.eLicenseId,
            paper: material.paper ?? false)
    }
}
