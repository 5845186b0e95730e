import Foundation
import HummingbirdBcrypt

/// Password hashing with bcrypt on its own bounded pool (`BcryptPool`): a hash takes tens to hundreds of
/// milliseconds and must never block an event loop or the threads SQLite queries run on.
struct PasswordHasher: Sendable {
    /// 12 in production; tests use the minimum (4) to stay fast.
    let cost: UInt8
    let pool: BcryptPool
    /// A hash of a random password at `cost`, to verify against when the account does not exist: a miss then costs
    /// what a hit costs, at every configured cost, and timing does not reveal which identifiers are registered.
    private let decoy: Task<String, any Error>

    init(cost: UInt8, pool: BcryptPool) {
        self.cost = cost
        self.pool = pool
        let secret = UUID().uuidString + UUID().uuidString
        self.decoy = Task { try await pool.run { Bcrypt.hash(secret, cost: cost) } }
    }

    /// The bcrypt hash of `password`; the caller has checked it with `PasswordPolicy` (bcrypt would silently cut it).
    func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await pool.run { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash` (the decoy when `hash` is nil). A password bcrypt cannot take whole (a NUL,
    /// more than 72 bytes) never matches, yet costs a verification like any other.
    func verify(_ password: String, hash: String?) async throws -> Bool {
        let stored: String
        if let hash { stored = hash } else { stored = try await decoy.value }
        let whole = PasswordPolicy.isWhole(password)
        let candidate = whole ? password : ""
        let matches = try await pool.run { Bcrypt.verify(candidate, hash: stored) }
        return whole && hash != nil && matches
    }

    /// Takes as long as hashing, without hashing (a registration for a taken identifier).
    func imitateHash() async throws {
        _ = try await decoy.value
        try await pool.imitate()
    }
}

/// Minimum strength rules; each failure names the rule so the app can explain it.
enum PasswordPolicy {
    /// bcrypt reads at most 72 bytes, and the C string it is handed ends at the first NUL.
    static let maxBytes = 72

    /// Whether bcrypt sees the whole password: no NUL and at most 72 UTF-8 bytes.
    static func isWhole(_ password: String) -> Bool {
        password.utf8.count <= maxBytes && !password.utf8.contains(0)
    }

    static func problems(_ password: String, personal: [String]) -> [String] {
        // Bounded before any other rule looks at every character.
        guard password.utf8.count <= maxBytes else { return ["must be at most \(maxBytes) bytes in UTF-8 (about 24 Chinese characters)"] }
        var problems: [String] = []
        if password.utf8.contains(0) { problems.append("must not contain a NUL character") }
        if password.count < 10 { problems.append("must be at least 10 characters") }
        if !password.contains(where: { $0.isLetter }) || !password.contains(where: { $0.isNumber }) {
            problems.append("must contain letters and digits")
        }
        let lowered = password.lowercased()
        if personal.contains(where: { $0.count >= 6 && lowered.contains($0.lowercased()) }) {
            problems.append("must not contain your ID number, credit code or phone number")
        }
        return problems
    }
}
