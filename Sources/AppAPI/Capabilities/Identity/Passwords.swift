import HummingbirdBcrypt
import NIOPosix

/// Password hashing with bcrypt, always on the thread pool: a hash takes tens to hundreds of milliseconds and
/// must never block an event loop.
struct PasswordHasher: Sendable {
    /// 12 in production; tests use the minimum (4) to stay fast.
    let cost: UInt8

    func hash(_ password: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// A hash to verify against when the account does not exist, so a miss costs as long as a hit and timing does
    /// not reveal which identifiers are registered.
    static let decoyHash = Bcrypt.hash("decoy-password-never-matches", cost: 12)
}

/// Minimum strength rules; each failure names the rule so the app can explain it.
enum PasswordPolicy {
    static func problems(_ password: String, personal: [String]) -> [String] {
        var problems: [String] = []
        if password.count < 10 { problems.append("must be at least 10 characters") }
        if password.count > 128 { problems.append("must be at most 128 characters") }
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
