import Foundation
import OneTripAPI
import OpenAPIRuntime
import SQLKit
import SyncCore

/// The wallet's routes: the holder's licenses and access log, issuer keys and status lists (public), the clerks'
/// status changes, and verification for any signed-in verifier.
extension APIImplementation {
    func listLicenses(_ input: Operations.ListLicenses.Input) async throws -> Operations.ListLicenses.Output {
        let me = try await authenticate(AccountRole.applicants)
        let items = try await database.read { db in
            try await ChangeLog.entities(License.self, in: .user(me.accountID), on: db)
        }
        return .ok(.init(body: .json(.init(items: items.sorted { ($0.issuedAt, $0.id) > ($1.issuedAt, $1.id) }))))
    }

    func getLicense(_ input: Operations.GetLicense.Input) async throws -> Operations.GetLicense.Output {
        let me = try await authenticate(AccountRole.applicants)
        let id = input.path.id
        guard PathID.isPlausible(id),
            let license = try await database.read({ db in try await ChangeLog.entity(License.self, id: id, in: .user(me.accountID), on: db) })
        else { throw AppError.notFound("No license \(id.prefix(64)) in your wallet.") }
        return .ok(.init(body: .json(license)))
    }

    func getWalletAccessLog(_ input: Operations.GetWalletAccessLog.Input) async throws -> Operations.GetWalletAccessLog.Output {
        let me = try await authenticate(AccountRole.applicants)
        let limit = input.query.limit ?? 50
        guard (1...WalletAccessLog.maxPage).contains(limit) else { throw AppError.invalidParameter("limit", "must be between 1 and 200") }
        if let before = input.query.before, before < 0 { throw AppError.invalidParameter("before", "must not be negative") }
        let items = try await wallet.accessLog.entries(of: me.accountID, before: input.query.before, limit: limit)
        return .ok(.init(body: .json(.init(items: items))))
    }

    func getIssuerKeys(_ input: Operations.GetIssuerKeys.Input) async throws -> Operations.GetIssuerKeys.Output {
        let id = input.path.id
        guard PathID.isPlausible(id) else { throw AppError.notFound("No issuer \(id.prefix(64)).") }
        let keys = try await wallet.keys.publishedKeys(of: id)
        guard !keys.isEmpty else { throw AppError.notFound("No issuer \(id).") }
        let jwks = keys.map { key in
            Components.Schemas.PublicJWK(kty: .ec, crv: .p256, x: key.jwk.x, y: key.jwk.y, kid: key.id, use: "sig", alg: "ES256")
        }
        return .ok(.init(body: .json(.init(keys: jwks))))
    }

    func getStatusList(_ input: Operations.GetStatusList.Input) async throws -> Operations.GetStatusList.Output {
        let id = input.path.id
        guard id.utf8.count <= 128, PathID.isPlausible(id), let (token, issuedAt) = try await wallet.statusLists.token(of: id) else {
            throw AppError.notFound("No status list \(id.prefix(128)).")
        }
        let etag = "\"\(id)-\(issuedAt)\""
        if let match = input.headers.ifNoneMatch, match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return .notModified(.init(headers: .init(eTag: etag)))
        }
        return .ok(
            .init(
                headers: .init(eTag: etag, cacheControl: "public, max-age=\(StatusListStore.timeToLive)"),
                body: .applicationStatuslistJwt(HTTPBody(token))))
    }

    func setLicenseStatus(_ input: Operations.SetLicenseStatus.Input) async throws -> Operations.SetLicenseStatus.Output {
        let me = try await authenticate([.clerk, .admin])
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        if let reason = body.reason, reason.unicodeScalars.count > 500 { throw AppError.invalidParameter("reason", "at most 500 characters") }
        let id = input.path.id
        guard PathID.isPlausible(id) else { throw AppError.notFound("No license \(id.prefix(64)) issued by your department.") }
        let state: License.State =
            switch body.status {
            case .valid: .valid
            case .suspended: .suspended
            case .revoked: .revoked
            }
        let updated = try await database.transaction { [wallet, runtime] db in
            guard let owner = try await wallet.licenses.owner(of: id, on: db), me.kind == .admin || owner.departmentID == me.departmentID else {
                throw AppError.notFound("No license \(id) issued by your department.")
            }
            let (license, records) = try await wallet.licenses.changeState(id, to: state, on: db)
            var all = records
            let label = ["valid": "已恢复有效", "suspended": "已暂停使用", "revoked": "已被注销"][state.rawValue] ?? state.rawValue
            let note = body.reason.map { "原因：\($0)" } ?? ""
            let message = Message(
                id: "msg_license_\(id)_\(runtime.newID())", title: "电子证照状态变更：\(license.typeName)",
                body: "您的\(license.typeName)\(label)。\(note)", category: "license", subjectID: id, createdAt: runtime.nowMillis)
            all.append(try .upsert(message, in: .user(owner.accountID)))
            try await ChangeLog.append(all, on: db, now: runtime.now())
            return license
        }
        return .ok(.init(body: .json(updated)))
    }

    func createPresentationNonce(_ input: Operations.CreatePresentationNonce.Input) async throws -> Operations.CreatePresentationNonce.Output {
        let me = try await authenticate()
        let (nonce, expiresAt) = try await wallet.nonces.issue(for: me.accountID)
        return .created(.init(body: .json(.init(nonce: nonce, audience: wallet.audience(of: me.accountID), expiresAt: Int64(expiresAt)))))
    }

    func verifyPresentation(_ input: Operations.VerifyPresentation.Input) async throws -> Operations.VerifyPresentation.Output {
        let me = try await authenticate()
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let verified = try await wallet.verify(body.presentation, for: me)
        return .ok(.init(body: .json(verified)))
    }
}
