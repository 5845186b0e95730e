import Crypto
import Foundation

/// Which limits a login and a registration count against. Keys are hashed identifiers and client networks: the table
/// never holds an ID number or an address, and an unregistered identifier is throttled exactly like a registered one,
/// so 429s reveal nothing either.
///
/// Lockout policy (README, "Security"): failures count per (identifier, client network), so five wrong passwords from
/// an attacker's network lock that identifier *from that network* only, and the owner still logs in from their own;
/// a higher cap per identifier over all networks stops a guesser spreading over many addresses; a cap per network
/// stops one client trying many identifiers.
struct LoginThrottle: Sendable {
    typealias Policy = AttemptLimiter.Policy

    static let minutes15 = 15 * 60_000
    /// One identifier from one client network (an IPv4 address, an IPv6 /64).
    static let perIdentifierAndNetwork = Policy(limit: 5, window: minutes15, lockout: minutes15, successForgets: true)
    /// One identifier from anywhere.
    static let perIdentifier = Policy(limit: 50, window: minutes15, lockout: minutes15)
    /// One client network, whatever identifiers it tries.
    static let perNetwork = Policy(limit: 30, window: minutes15, lockout: minutes15)

    let limiter: AttemptLimiter

    /// Reserves a login attempt; throws 429 `too_many_attempts` when a limit is reached.
    func reserve(identifier: String, network: String?) async throws -> AttemptLimiter.Reservation {
        let normalised = identifier.uppercased()
        var keys = [
            AttemptLimiter.Key(key: "idn:" + Self.hash(normalised + "|" + (network ?? "-")), policy: Self.perIdentifierAndNetwork),
            AttemptLimiter.Key(key: "id:" + Self.hash(normalised), policy: Self.perIdentifier),
        ]
        if let network { keys.append(.init(key: "ip:" + Self.hash(network), policy: Self.perNetwork)) }
        return try await limiter.reserve(keys)
    }

    static func hash(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}

/// Registrations per client network: every registration that passes validation counts (taken identifier or not, so
/// the limit reveals nothing), and the window alone lifts the limit.
struct RegistrationThrottle: Sendable {
    /// 10 an hour by default (`APPAPI_REGISTRATIONS_PER_HOUR`); 0 turns the limit off (load tests).
    static let defaultPerHour = 10

    let limiter: AttemptLimiter
    let perHour: Int

    /// Counts a registration from `network`; throws 429 `too_many_attempts` with `Retry-After` past the limit.
    func reserve(network: String?) async throws {
        guard perHour > 0, let network else { return }
        let policy = AttemptLimiter.Policy(limit: perHour, window: 60 * 60_000, lockout: nil)
        _ = try await limiter.reserve([.init(key: "reg:" + LoginThrottle.hash(network), policy: policy)])
    }
}
