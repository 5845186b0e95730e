import Crypto
import Foundation
import JWTKit
import SyncCore
import Synchronization

/// Issues and verifies access tokens. Verified tokens are cached until they expire, so authentication costs a
/// dictionary lookup on the hot path (the sync budget leaves no room for a signature check per request);
/// device revocation is checked against a short-lived cache of device states.
final class TokenService: Authenticator {
    /// Access tokens live 15 minutes; phones refresh them with their refresh token.
    static let accessTokenLifetime: Duration = .seconds(900)
    /// Refresh tokens live 30 days (a phone that stays offline longer logs in again).
    static let refreshTokenLifetime: Duration = .seconds(30 * 24 * 3600)
    /// How stale this instance's view of a device's revocation may be. A revocation made on this instance takes
    /// effect at once; one made on another instance within this window.
    static let deviceStatusTTL: Duration = .seconds(5)

    let keys: SigningKeyStore
    let accounts: AccountStore
    private let verified = Mutex<[String: VerifiedToken]>([:])
    private let deviceStatus = Mutex<[String: DeviceStatus]>([:])
    /// Bumped by every revocation on this instance, so a device read that overlapped one is repeated.
    private let revocations = Atomic<Int>(0)
    private static let cacheLimit = 50_000

    private struct VerifiedToken: Sendable {
        var identity: Identity
        var expiresAt: Date
    }

    private struct DeviceStatus: Sendable {
        var revoked: Bool
        /// `runtime.now()` when read.
        var checkedAt: Int
    }

    private let runtime: Runtime
    /// Reads whether a device is revoked from the database (a seam: tests make the read slow).
    private let readRevoked: @Sendable (String) async throws -> Bool

    init(database: any Database, runtime: Runtime = .live, readRevoked: (@Sendable (String) async throws -> Bool)? = nil) {
        self.runtime = runtime
        let accounts = AccountStore(database: database)
        self.readRevoked = readRevoked ?? { try await accounts.isRevoked(deviceID: $0) }
        self.keys = SigningKeyStore(
            database: database, purpose: "access", retention: Self.accessTokenLifetime + .seconds(Int64(AccessClaims.issuedAtSkew)))
        self.accounts = AccountStore(database: database)
    }

    /// A signed access token for `account` on `device`, and its lifetime in seconds.
    func issueAccessToken(for account: Account, device: Device) async throws -> (token: String, expiresIn: Int) {
        let set = try await keys.keySet()
        // Whole seconds: NumericDate may be fractional, but libjwt reads exp as an integer and some verifiers
        // refuse a fractional iat as "issued in the future".
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let lifetime = Int(Self.accessTokenLifetime.components.seconds)
        let claims = AccessClaims(
            iss: .init(value: AccessClaims.issuer), aud: .init(value: [AccessClaims.audience]), sub: .init(value: account.id),
            exp: .init(value: now.addingTimeInterval(Double(lifetime))), iat: .init(value: now), jti: .init(value: UUID().uuidString),
            role: account.kind.rawValue, did: device.id, tokenUse: AccessClaims.tokenUse, dept: account.departmentID, center: account.centerID
        )
        let header: JWTHeader = ["typ": "JWT"]
        let token = try await set.signer.sign(claims, kid: JWKIdentifier(string: set.signingKID), header: header)
        return (token, lifetime)
    }

    /// `Authenticator`: the identity a bearer token proves, or an `AuthenticationFailure` naming the reason.
    func verify(_ token: String) async throws -> Identity {
        do {
            return try await verifyToken(token)
        } catch let rejection as TokenRejection {
            throw AuthenticationFailure(expired: rejection == .expired, reason: "\(rejection)")
        }
    }

    /// `Authenticator`: whether the device is neither logged out nor revoked (the cached view, at most `deviceStatusTTL` old).
    func isActive(deviceID: String) async throws -> Bool {
        do {
            try await checkDevice(deviceID)
            return true
        } catch TokenRejection.deviceRevoked {
            return false
        }
    }

    /// The identity a bearer token proves, or a `TokenRejection`.
    func verifyToken(_ token: String) async throws -> Identity {
        let now = Date()
        if let hit = verified.withLock({ $0[token] }), hit.expiresAt.addingTimeInterval(AccessClaims.expirySkew) > now {
            try await checkDevice(hit.identity.deviceID)
            var identity = hit.identity
            identity.expiresAt = hit.expiresAt
            return identity
        }
        let header = try JOSEHeader.parse(token)
        guard header.alg == "ES256" else { throw TokenRejection.algorithm }
        guard header.typ == "JWT" else { throw TokenRejection.type }
        guard header.crit == nil else { throw TokenRejection.critical }
        guard let kid = header.kid, !kid.isEmpty else { throw TokenRejection.missingKID }
        guard let set = try await keys.isPublished(kid) else { throw TokenRejection.unknownKID }
        let claims: AccessClaims
        do {
            claims = try await set.verifier.verify(token, as: AccessClaims.self)
        } catch let rejection as TokenRejection {
            throw rejection
        } catch {
            throw TokenRejection.signature
        }
        var identity = claims.identity
        identity.expiresAt = claims.exp.value
        try await checkDevice(identity.deviceID)
        verified.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[token] = VerifiedToken(identity: identity, expiresAt: claims.exp.value)
        }
        return identity
    }

    /// Records that a device was revoked here. Revocation is final, so this entry is never overwritten by a request
    /// that read the database before the revocation committed.
    func deviceRevoked(_ deviceID: String) {
        deviceStatus.withLock { cache in
            revocations.add(1, ordering: .sequentiallyConsistent)
            cache[deviceID] = DeviceStatus(revoked: true, checkedAt: runtime.now())
        }
    }

    private func checkDevice(_ deviceID: String) async throws {
        let ttl = Int(Self.deviceStatusTTL.components.seconds) * 1000
        if let cached = deviceStatus.withLock({ $0[deviceID] }), cached.revoked || runtime.now() - cached.checkedAt < ttl {
            if cached.revoked { throw TokenRejection.deviceRevoked }
            return
        }
        for attempt in 1...3 {
            let epoch = revocations.load(ordering: .sequentiallyConsistent)
            let revoked = try await readRevoked(deviceID)
            let settled: Bool? = deviceStatus.withLock { cache in
                // Revoked here meanwhile: that answer wins over what was read before.
                if cache[deviceID]?.revoked == true { return true }
                // Some device was revoked here while we read: the read may predate it, so read again (a read that
                // started after the revocation committed sees it; on a busy instance, give up caching after three).
                if !revoked && revocations.load(ordering: .sequentiallyConsistent) != epoch { return attempt == 3 ? false : nil }
                if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[deviceID] = DeviceStatus(revoked: revoked, checkedAt: runtime.now())
                return revoked
            }
            guard let settled else { continue }
            if settled { throw TokenRejection.deviceRevoked }
            return
        }
    }

    // MARK: Refresh tokens

    /// A new opaque refresh token (256 random bits) and the hash that is stored instead of it.
    static func makeRefreshToken() -> (token: String, hash: String) {
        let token = "rt_" + base64URL(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
        return (token, hashRefreshToken(token))
    }

    static func hashRefreshToken(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
