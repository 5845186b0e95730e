import Foundation
import SQLKit
import SyncCore

/// The holder's record of who verified or used each of their licenses (个人信息 access log): a row per event,
/// synced into the holder's `user:` scope and read at `GET /v1/wallet/access-log`. Claim values are never written,
/// only the names of the fields disclosed.
struct WalletAccessLog: Sendable {
    let database: any Database
    let runtime: Runtime

    static let maxPage = 200

    func record(
        licenseID: String, holder accountID: String, action: WalletAccess.Action, party: String, fields: [String], caseID: String? = nil,
        on db: any SQLDatabase
    ) async throws -> ChangeRecord {
        let entry = WalletAccess(
            id: "acl_" + runtime.newID(), licenseId: licenseID, action: action, party: String(party.prefix(200)),
            fields: Array(fields.sorted().prefix(64)), caseId: caseID, at: runtime.nowMillis)
        try await db.insert(into: "wallet_access_log").columns("id", "account_id", "license_id", "action", "party", "fields", "case_id", "at")
            .values(
                SQLBind(entry.id), SQLBind(accountID), SQLBind(licenseID), SQLBind(action.rawValue), SQLBind(entry.party),
                SQLBind(try ChangeLog.encode(entry.fields)), SQLBind(caseID), SQLBind(Int(entry.at))
            )
            .run()
        return try .upsert(entry, in: .user(accountID))
    }

    /// The holder's entries, newest first, before `before` (milliseconds) when given.
    func entries(of accountID: String, before: Int64?, limit: Int) async throws -> [WalletAccess] {
        try await database.read { db in
            var query = db.select().columns("id", "license_id", "action", "party", "fields", "case_id", "at").from("wallet_access_log")
                .where("account_id", .equal, accountID)
            if let before { query = query.where("at", .lessThan, before) }
            return try await query.orderBy("at", .descending).orderBy("id", .descending).limit(min(max(limit, 1), Self.maxPage)).all().map { row in
                WalletAccess(
                    id: try row.decode(column: "id", as: String.self), licenseId: try row.decode(column: "license_id", as: String.self),
                    action: WalletAccess.Action(rawValue: try row.decode(column: "action", as: String.self)) ?? .verified,
                    party: try row.decode(column: "party", as: String.self),
                    fields: try JSONDecoder().decode([String].self, from: Data(try row.decode(column: "fields", as: String.self).utf8)),
                    caseId: try row.decode(column: "case_id", as: String?.self), at: try row.decode(column: "at", as: Int64.self))
            }
        }
    }
}

/// Nonces a verifier asks for before a holder presents: each is bound to the verifier that asked and consumed at most
/// once (an `UPDATE … WHERE used_at IS NULL` that only one transaction can win, on both engines).
struct PresentationNonces: Sendable {
    let database: any Database
    let runtime: Runtime
    /// How long a nonce waits for its presentation.
    static let lifetimeMillis = 10 * 60 * 1000

    func issue(for verifierID: String) async throws -> (nonce: String, expiresAt: Int) {
        let nonce = base64URL(Data((0..<16).map { _ in UInt8.random(in: 0...255) }))
        let expiresAt = runtime.now() + Self.lifetimeMillis
        try await database.transaction { db in
            try await db.insert(into: "presentation_nonces").columns("nonce", "verifier_id", "expires_at", "used_at")
                .values(SQLBind(nonce), SQLBind(verifierID), SQLBind(expiresAt), SQLBind(Int?.none)).run()
        }
        return (nonce, expiresAt)
    }

    /// Marks `nonce` used by `verifierID`; true only for the first use of a live nonce this verifier was given.
    func consume(_ nonce: String, by verifierID: String, on db: any SQLDatabase) async throws -> Bool {
        guard nonce.utf8.count <= 128 else { return false }
        let used = try await db.raw(
            """
            UPDATE presentation_nonces SET used_at = \(bind: runtime.now())
            WHERE nonce = \(bind: nonce) AND verifier_id = \(bind: verifierID) AND used_at IS NULL AND expires_at > \(bind: runtime.now())
            RETURNING nonce
            """
        ).all()
        return used.count == 1
    }

    /// Forgets nonces that expired a day ago.
    func purge() async throws -> Int {
        let cutoff = runtime.now() - 24 * 3600 * 1000
        return try await database.transaction { db in
            try await db.raw("DELETE FROM presentation_nonces WHERE expires_at < \(bind: cutoff) RETURNING nonce").all().count
        }
    }
}
