import Crypto
import Foundation
import JWTKit
import SQLKit
import SyncCore
import Synchronization

/// ES256 signing keys of one purpose (access tokens now; each token kind keeps its own keys), stored in the
/// database so every instance signs and verifies with the same set. Generated on first start and never logged.
///
/// The newest un-retired key signs. A rotated key stays published (and accepted) until every token it signed
/// has expired. Instances reload the set every minute, and at once (at most every 5 s) when they meet an
/// unknown `kid`, so a rotation on one instance reaches the others without a restart.
final class SigningKeyStore: Sendable {
    struct KeySet: Sendable {
        var signingKID: String
        /// Signs with the current key only.
        var signer: JWTKeyCollection
        /// Verifies with every published key; holds nothing but keys of this purpose.
        var verifier: JWTKeyCollection
        var publishedKIDs: Set<String>
        /// Public JWKs as JSON objects, newest first.
        var jwks: [PublicJWK]
        var loadedAt: ContinuousClock.Instant
    }

    /// A public key in JWK form.
    struct PublicJWK: Codable, Sendable, Equatable {
        var kty = "EC"
        var crv = "P-256"
        var x: String
        var y: String
        var kid: String
        var use = "sig"
        var alg = "ES256"
    }

    let database: any Database
    let purpose: String
    /// How long a retired key stays published: the longest lifetime of a token it signed, plus clock skew.
    let retentionMillis: Int
    private let state = Mutex<KeySet?>(nil)
    private let lastForcedReload = Mutex<ContinuousClock.Instant?>(nil)

    init(database: any Database, purpose: String, retention: Duration) {
        self.database = database
        self.purpose = purpose
        self.retentionMillis = Int(retention.components.seconds * 1000)
    }

    /// The current key set, loading (and on first start generating) it when needed.
    func keySet() async throws -> KeySet {
        if let cached = state.withLock({ $0 }), ContinuousClock.now - cached.loadedAt < .seconds(60) { return cached }
        return try await reload()
    }

    /// Whether `kid` is published, reloading once if it is new to this instance (another instance rotated).
    func isPublished(_ kid: String) async throws -> KeySet? {
        let set = try await keySet()
        if set.publishedKIDs.contains(kid) { return set }
        let mayReload = lastForcedReload.withLock { last -> Bool in
            if let last, ContinuousClock.now - last < .seconds(5) { return false }
            last = ContinuousClock.now
            return true
        }
        guard mayReload else { return nil }
        let fresh = try await reload()
        return fresh.publishedKIDs.contains(kid) ? fresh : nil
    }

    @discardableResult
    func reload() async throws -> KeySet {
        var rows = try await loadRows()
        if !rows.contains(where: { $0.retiredAt == nil }) {
            try await Self.generate(purpose: purpose, on: database)
            rows = try await loadRows()
        }
        let set = try await Self.makeKeySet(rows)
        state.withLock { $0 = set }
        return set
    }

    /// Retires the current key and makes a new one; returns the new `kid`.
    @discardableResult
    static func rotate(purpose: String, on database: any Database) async throws -> String {
        try await database.transaction { db in
            try await db.update("signing_keys").set("retired_at", to: Clock.nowMillis()).where("purpose", .equal, purpose)
                .where("retired_at", .is, SQLLiteral.null).run()
            return try await insertNewKey(purpose: purpose, on: db)
        }
    }

    // MARK: Private

    private struct Row: Sendable {
        var kid: String
        var privatePEM: String
        var publicJWK: PublicJWK
        var createdAt: Int
        var retiredAt: Int?
    }

    private func loadRows() async throws -> [Row] {
        let oldest = Clock.nowMillis() - retentionMillis
        return try await database.read { [purpose] db in
            try await db.select().columns("kid", "private_pem", "public_jwk", "created_at", "retired_at").from("signing_keys")
                .where("purpose", .equal, purpose)
                .where { $0.where("retired_at", .is, SQLLiteral.null).orWhere("retired_at", .greaterThan, oldest) }
                .orderBy("created_at", .descending).orderBy("kid", .descending)
                .all()
                .map { row in
                    Row(
                        kid: try row.decode(column: "kid", as: String.self), privatePEM: try row.decode(column: "private_pem", as: String.self),
                        publicJWK: try JSONDecoder().decode(PublicJWK.self, from: Data(try row.decode(column: "public_jwk", as: String.self).utf8)),
                        createdAt: try row.decode(column: "created_at", as: Int.self), retiredAt: try row.decode(column: "retired_at", as: Int?.self)
                    )
                }
        }
    }

    private static func makeKeySet(_ rows: [Row]) async throws -> KeySet {
        guard let current = rows.first(where: { $0.retiredAt == nil }) else { throw SigningKeyError.noActiveKey }
        let signer = JWTKeyCollection()
        await signer.add(ecdsa: try ES256PrivateKey(pem: current.privatePEM), kid: JWKIdentifier(string: current.kid))
        let verifier = JWTKeyCollection()
        for row in rows {
            await verifier.add(ecdsa: try ES256PrivateKey(pem: row.privatePEM).publicKey, kid: JWKIdentifier(string: row.kid))
        }
        return KeySet(
            signingKID: current.kid, signer: signer, verifier: verifier, publishedKIDs: Set(rows.map(\.kid)), jwks: rows.map(\.publicJWK),
            loadedAt: .now
        )
    }

    private static func generate(purpose: String, on database: any Database) async throws {
        try await database.transaction { db in
            // Another instance may have generated one meanwhile.
            let active = try await db.select().column("kid").from("signing_keys").where("purpose", .equal, purpose)
                .where("retired_at", .is, SQLLiteral.null).first()
            if active == nil { _ = try await insertNewKey(purpose: purpose, on: db) }
        }
    }

    private static func insertNewKey(purpose: String, on db: any SQLDatabase) async throws -> String {
        let key = P256.Signing.PrivateKey()
        let kid = "\(purpose)-" + base64URL(Data(SHA256.hash(data: key.publicKey.x963Representation)).prefix(12))
        let point = ECPublicJWK(key.publicKey)
        let jwk = PublicJWK(x: point.x, y: point.y, kid: kid)
        try await db.insert(into: "signing_keys").columns("kid", "purpose", "private_pem", "public_jwk", "created_at", "retired_at")
            .values(
                SQLBind(kid), SQLBind(purpose), SQLBind(key.pemRepresentation), SQLBind(try ChangeLog.encode(jwk)), SQLBind(Clock.nowMillis()),
                SQLBind(Int?.none)
            )
            .run()
        return kid
    }
}

enum SigningKeyError: Error {
    case noActiveKey
}
