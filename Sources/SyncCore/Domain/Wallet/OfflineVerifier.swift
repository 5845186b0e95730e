import Crypto
import Foundation
import Synchronization

/// A kiosk's verifier with the network cut: issuer keys and status lists come from its replica's `public` scope
/// (`issuer_key`, `status_list`), nonces are its own and used once, and it says how old its status information is.
/// Status lists older than `maxStatusAge` are not trusted: their licenses are `license_status_unknown`.
public final class OfflineVerifier: Sendable {
    public let audience: String
    public let maxStatusAge: Int64
    private let verifier: PresentationVerifier
    /// When the oldest status list it holds was signed (seconds since 1970); `nil` when it holds none.
    public let oldestStatusIssuedAt: Int64?
    /// Nonces handed out (with their expiry) and those already used.
    private let nonces = Mutex<(issued: [String: Int64], used: Set<String>)>(([:], []))
    /// How long a nonce waits for its presentation, in seconds.
    public static let nonceLifetime: Int64 = 600

    /// Builds the verifier from what `replica` holds at `now` (seconds since 1970). A status list whose signature does
    /// not verify with the held keys is ignored.
    public init(replica: Replica, audience: String, now: Int64, maxStatusAge: Int64 = 24 * 3600, requireHolderBinding: Bool = true) throws {
        let keys = try replica.entities(IssuerPublicKey.self, in: .public).compactMap(\.verifierKey)
        let byID = Dictionary(keys.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first })
        let tokens = try replica.entities(PublishedStatusList.self, in: .public).compactMap { try? StatusListToken(verifying: $0.token, keys: byID) }
        self.audience = audience
        self.maxStatusAge = maxStatusAge
        self.oldestStatusIssuedAt = tokens.map(\.issuedAt).min()
        self.verifier = PresentationVerifier(
            keys: keys, policy: .init(audience: audience, requireHolderBinding: requireHolderBinding),
            status: PresentationVerifier.offlineStatus(tokens, now: now, maxAge: maxStatusAge))
    }

    /// A fresh nonce for the next holder, valid for `nonceLifetime` seconds from `now`.
    public func nonce(now: Int64) -> String {
        let nonce = base64URL(SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) })
        nonces.withLock { $0.issued[nonce] = now + Self.nonceLifetime }
        return nonce
    }

    /// Verifies a presentation made for one of this kiosk's nonces, consuming the nonce.
    public func verify(_ presentation: String, now: Int64) throws(PresentationRejection) -> VerifiedPresentation {
        try verifier.verify(presentation, now: now) { nonce in
            nonces.withLock { state in
                guard let expiry = state.issued[nonce], expiry >= now, state.used.insert(nonce).inserted else { return false }
                return true
            }
        }
    }

    /// Seconds since the oldest status list was signed, as the kiosk tells its user.
    public func statusAge(now: Int64) -> Int64? { oldestStatusIssuedAt.map { now - $0 } }
}
