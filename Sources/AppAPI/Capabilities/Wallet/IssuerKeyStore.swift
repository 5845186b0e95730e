import Crypto
import Foundation
import SQLKit
import SyncCore
import Synchronization

/// The issuing departments' ES256 keys (their 电子印章 for licenses and status lists), in the database so every
/// instance signs with the same key. One key per department signs; a rotated key is retired, not deleted: it stays
/// published in the `public` scope and at `/v1/issuers/{department}/jwks`, so every license it signed keeps verifying.
///
/// Private keys are stored as PEM beside the access-token keys: the database is the trust boundary (an HSM or a
/// KMS is the production step, outside OneTrip). They are never logged and never leave this type.
struct IssuerKeyStore: Sendable {
    let database: any Database
    /// Where issuer identifiers live: `<base>/issuers/<department>`.
    let publicBaseURL: String
    let runtime: Runtime
    /// The published keys as verification reads them, shared by every copy of this store.
    private let verification = VerificationKeys()

    /// The signing key of a department, read inside the caller's transaction (so a rotation committed elsewhere is
    /// seen at once), created on first use.
    struct SigningKey: Sendable {
        var kid: String
        var issuer: String
        var key: P256.Signing.PrivateKey
    }

    func issuer(of department: String) -> String { "\(publicBaseURL)/issuers/\(department)" }

    /// The active key of `department`, generating (and publishing) one when it has none. `locking` takes the key's
    /// row lock for the rest of the transaction: what issues licenses of one department is serialized by it.
    func signingKey(of department: String, locking: Bool = false, on db: any SQLDatabase) async throws -> SigningKey {
        if let key = try await activeKey(of: department, locking: locking, on: db) { return key }
        let records = try await Self.insertKey(for: department, issuer: issuer(of: department), at: runtime.now(), on: db)
        try await ChangeLog.append(records, on: db)
        guard let key = try await activeKey(of: department, on: db) else { throw IssuerKeyError.noActiveKey(department) }
        return key
    }

    /// Gives every department in `departments` a key if it has none (at start, so the first approval of a department
    /// does not race another instance to create one).
    func ensureKeys(for departments: [String]) async throws -> Int {
        var created = 0
        for department in departments {
            let made = try await database.transaction { db -> Bool in
                guard try await activeKey(of: department, on: db) == nil else { return false }
                try await ChangeLog.append(
                    try await Self.insertKey(for: department, issuer: issuer(of: department), at: runtime.now(), on: db), on: db)
                return true
            }
            if made { created += 1 }
        }
        return created
    }

    /// Retires the department's key and makes a new one; returns the new `kid`. Licenses signed by the old key keep
    /// verifying; status lists are re-signed with the new key by the next publication.
    func rotate(_ department: String) async throws -> String {
        try await database.transaction { db in
            let now = runtime.now()
            var records: [ChangeRecord] = []
            let active = try await db.select().columns("kid", "public_jwk", "created_at").from("issuer_keys")
                .where("department_id", .equal, department).where("retired_at", .is, SQLLiteral.null).all()
            for row in active {
                let kid = try row.decode(column: "kid", as: String.self)
                try await db.update("issuer_keys").set("retired_at", to: now).where("kid", .equal, kid).run()
                var published = try Self.published(row, department: department, issuer: issuer(of: department))
                published.retiredAt = Int64(now)
                records.append(try .upsert(published, in: .public))
            }
            records += try await Self.insertKey(for: department, issuer: issuer(of: department), at: runtime.now(), on: db)
            try await ChangeLog.append(records, on: db)
            guard let kid = try await activeKey(of: department, on: db)?.kid else { throw IssuerKeyError.noActiveKey(department) }
            return kid
        }
    }

    /// Every published key, for verifying a presentation signed by `kid`: held for a minute; a `kid` not among them
    /// (a key another instance has just made) is looked up by itself and added, a primary-key read, so presentations
    /// naming unknown keys never turn a verification into a scan of the table.
    func verificationKeys(for kid: String?) async throws -> [IssuerPublicKey] {
        let now = runtime.nowMillis
        guard var keys = verification.held(now: now) else {
            let keys = try await publishedKeys(of: nil)
            verification.store(keys, at: now)
            return keys
        }
        if let kid, !keys.contains(where: { $0.id == kid }), PathID.isPlausible(kid), let key = try await publishedKey(kid) {
            keys.append(key)
            verification.add(key)
        }
        return keys
    }

    /// The published key `kid`, if there is one.
    private func publishedKey(_ kid: String) async throws -> IssuerPublicKey? {
        try await database.read { db in
            guard
                let row = try await db.select().columns("kid", "department_id", "public_jwk", "created_at", "retired_at").from("issuer_keys")
                    .where("kid", .equal, kid).first()
            else { return nil }
            let department = try row.decode(column: "department_id", as: String.self)
            var key = try Self.published(row, department: department, issuer: issuer(of: department))
            key.retiredAt = try row.decode(column: "retired_at", as: Int64?.self)
            return key
        }
    }

    /// Every published key of `department` (retired ones too), newest first; every department's when `nil`.
    func publishedKeys(of department: String?) async throws -> [IssuerPublicKey] {
        try await database.read { db in
            var query = db.select().columns("kid", "department_id", "public_jwk", "created_at", "retired_at").from("issuer_keys")
            if let department { query = query.where("department_id", .equal, department) }
            return try await query.orderBy("created_at", .descending).orderBy("kid", .descending).all().map { row in
                let department = try row.decode(column: "department_id", as: String.self)
                var key = try Self.published(row, department: department, issuer: issuer(of: department))
                key.retiredAt = try row.decode(column: "retired_at", as: Int64?.self)
                return key
            }
        }
    }

    // MARK: Private

    private func activeKey(of department: String, locking: Bool = false, on db: any SQLDatabase) async throws -> SigningKey? {
        let lock = locking ? db.forUpdate : ""
        guard
            let row = try await db.raw(
                "SELECT kid, private_pem FROM issuer_keys WHERE department_id = \(bind: department) AND retired_at IS NULL\(unsafeRaw: lock)"
            ).first()
        else { return nil }
        return SigningKey(
            kid: try row.decode(column: "kid", as: String.self), issuer: issuer(of: department),
            key: try P256.Signing.PrivateKey(pemRepresentation: try row.decode(column: "private_pem", as: String.self)))
    }

    private static func published(_ row: any SQLRow, department: String, issuer: String) throws -> IssuerPublicKey {
        let jwk = try JSONDecoder().decode(ECPublicJWK.self, from: Data(try row.decode(column: "public_jwk", as: String.self).utf8))
        return IssuerPublicKey(
            id: try row.decode(column: "kid", as: String.self), departmentId: department, issuer: issuer, jwk: jwk,
            createdAt: try row.decode(column: "created_at", as: Int64.self))
    }

    /// Inserts a fresh key for `department`; returns the `issuer_key` record to publish.
    private static func insertKey(for department: String, issuer: String, at now: Int, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        let key = P256.Signing.PrivateKey()
        let kid = "\(department)-" + base64URL(Data(SHA256.hash(data: key.publicKey.x963Representation)).prefix(12))
        let jwk = ECPublicJWK(key.publicKey, kid: kid)
        try await db.insert(into: "issuer_keys").columns("kid", "department_id", "private_pem", "public_jwk", "created_at", "retired_at")
            .values(
                SQLBind(kid), SQLBind(department), SQLBind(key.pemRepresentation), SQLBind(try ChangeLog.encode(jwk)), SQLBind(now),
                SQLBind(Int?.none)
            )
            .run()
        let published = IssuerPublicKey(id: kid, departmentId: department, issuer: issuer, jwk: jwk, createdAt: Int64(now))
        return [try .upsert(published, in: .public)]
    }
}

enum IssuerKeyError: Error, CustomStringConvertible {
    case noActiveKey(String)
    var description: String {
        switch self {
        case .noActiveKey(let department): "department \(department) has no active issuer key"
        }
    }
}

/// The last read of the published keys and when it was made.
private final class VerificationKeys: Sendable {
    private let state = Mutex<(keys: [IssuerPublicKey], at: Int64)?>(nil)
    static let lifetimeMillis: Int64 = 60_000

    /// The held keys, unless they are older than a minute.
    func held(now: Int64) -> [IssuerPublicKey]? {
        state.withLock { state in
            guard let state, now - state.at < Self.lifetimeMillis else { return nil }
            return state.keys
        }
    }

    func store(_ keys: [IssuerPublicKey], at now: Int64) { state.withLock { $0 = (keys, now) } }

    func add(_ key: IssuerPublicKey) {
        state.withLock { state in
            guard var held = state, !held.keys.contains(where: { $0.id == key.id }) else { return }
            held.keys.append(key)
            state = held
        }
    }
}
