import Crypto
import Foundation
import SQLKit
import SyncCore

/// OpenID4VCI's pre-authorized code flow: the holder asks for an offer of one license; the standards wallet redeems
/// its code for an access token and spends the token on one credential. Codes and tokens are random 256-bit values,
/// stored only as SHA-256 hashes, each single use (an `UPDATE … WHERE used_at IS NULL` one request wins) and short
/// lived.
struct CredentialOffers: Sendable {
    let database: any Database
    let runtime: Runtime
    static let codeLifetimeMillis = 5 * 60 * 1000
    static let tokenLifetimeSeconds = 300
    /// The `typ` of an OpenID4VCI proof of possession.
    static let proofType = "openid4vci-proof+jwt"
    /// How far a proof's `iat` may lie from now, in seconds.
    static let proofSkew: Int64 = 300

    func offer(_ licenseID: String, holder accountID: String) async throws -> (code: String, expiresAt: Int) {
        let code = Self.randomSecret()
        let expiresAt = runtime.now() + Self.codeLifetimeMillis
        try await database.transaction { db in
            try await db.insert(into: "credential_offers").columns("code_hash", "license_id", "account_id", "expires_at", "used_at")
                .values(SQLBind(Self.hash(code)), SQLBind(licenseID), SQLBind(accountID), SQLBind(expiresAt), SQLBind(Int?.none)).run()
        }
        return (code, expiresAt)
    }

    /// The access token for a live, unused code; `nil` otherwise.
    func redeem(_ code: String) async throws -> String? {
        guard code.utf8.count <= 200 else { return nil }
        let now = runtime.now()
        return try await database.transaction { db -> String? in
            guard let grant = try await Self.use(code, in: "credential_offers", key: "code_hash", at: now, on: db) else { return nil }
            let token = Self.randomSecret()
            try await db.insert(into: "credential_tokens").columns("token_hash", "license_id", "account_id", "expires_at", "used_at")
                .values(
                    SQLBind(Self.hash(token)), SQLBind(grant.licenseID), SQLBind(grant.accountID), SQLBind(now + Self.tokenLifetimeSeconds * 1000),
                    SQLBind(Int?.none)
                )
                .run()
            return token
        }
    }

    /// Whether an access token is live and unused (checked before its proof; spending it is `spend`'s).
    func isLive(_ token: String) async throws -> Bool {
        guard token.utf8.count <= 200 else { return false }
        let now = runtime.now()
        return try await database.read { db in
            try await db.select().column("token_hash").from("credential_tokens").where("token_hash", .equal, Self.hash(token))
                .where("used_at", .is, SQLLiteral.null).where("expires_at", .greaterThan, now).first() != nil
        }
    }

    /// Spends a live, unused access token inside the caller's transaction; the license it was issued for.
    func spend(_ token: String, on db: any SQLDatabase) async throws -> (licenseID: String, accountID: String)? {
        guard token.utf8.count <= 200 else { return nil }
        return try await Self.use(token, in: "credential_tokens", key: "token_hash", at: runtime.now(), on: db)
    }

    /// Marks a live, unused code or token used — one request wins, on both engines — and returns what it grants.
    private static func use(
        _ secret: String, in table: String, key: String, at now: Int, on db: any SQLDatabase
    ) async throws -> (licenseID: String, accountID: String)? {
        guard
            let row = try await db.raw(
                """
                UPDATE \(ident: table) SET used_at = \(bind: now)
                WHERE \(ident: key) = \(bind: hash(secret)) AND used_at IS NULL AND expires_at > \(bind: now)
                RETURNING license_id, account_id
                """
            ).first()
        else { return nil }
        return (try row.decode(column: "license_id", as: String.self), try row.decode(column: "account_id", as: String.self))
    }

    /// Forgets codes and tokens that expired a day ago.
    func purge() async throws -> Int {
        let cutoff = runtime.now() - 24 * 3600 * 1000
        return try await database.transaction { db in
            let codes = try await db.raw("DELETE FROM credential_offers WHERE expires_at < \(bind: cutoff) RETURNING code_hash").all().count
            let tokens = try await db.raw("DELETE FROM credential_tokens WHERE expires_at < \(bind: cutoff) RETURNING token_hash").all().count
            return codes + tokens
        }
    }

    /// A proof of possession (`openid4vci-proof+jwt`, ES256, the holder's key in `jwk`, `aud` = the issuer, a fresh
    /// `iat`): its key and nonce, or why it is refused.
    static func checkProof(_ jwt: String, audience: String, now: Int64) -> Result<(key: ECPublicJWK, nonce: String), ProofProblem> {
        guard jwt.utf8.count <= 8192, let jws = try? CompactJWS(jwt) else { return .failure(.malformed) }
        guard jws.header["typ"]?.string == proofType else { return .failure(.wrongType) }
        guard jws.header["alg"] == "ES256" else { return .failure(.algorithm) }
        guard let jwk = ECPublicJWK(jws.header["jwk"]), let key = jwk.publicKey else { return .failure(.noKey) }
        guard jws.isSigned(by: key) else { return .failure(.signature) }
        let audiences = jws.payload["aud"].map { $0.array?.compactMap(\.string) ?? [$0.string].compactMap { $0 } } ?? []
        guard audiences.contains(audience) else { return .failure(.audience) }
        guard let iat = jws.payload["iat"]?.integer, abs(iat.subtractingReportingOverflow(now).partialValue) <= proofSkew else {
            return .failure(.stale)
        }
        guard let nonce = jws.payload["nonce"]?.string else { return .failure(.nonce) }
        return .success((ECPublicJWK(key), nonce))
    }

    enum ProofProblem: String, Error {
        case malformed = "the proof is not a compact JWS"
        case wrongType = "the proof's typ is not openid4vci-proof+jwt"
        case algorithm = "the proof is not ES256"
        case noKey = "the proof's header has no P-256 jwk"
        case signature = "the proof is not signed by its jwk"
        case audience = "the proof's aud is not this credential issuer"
        case stale = "the proof's iat is more than 5 minutes from now"
        case nonce = "the proof carries no c_nonce"
    }

    private static func randomSecret() -> String { base64URL(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }) }
    private static func hash(_ secret: String) -> String { base64URL(Data(SHA256.hash(data: Data(secret.utf8)))) }
}
