import Crypto
import Foundation
import SQLKit

/// Slows down password guessing, per account identifier and per client address, in the database so every
/// instance sees the same counts. Keys are hashed identifiers: the table never holds an ID number, and an
/// unregistered identifier is throttled exactly like a registered one, so 429s reveal nothing either.
struct LoginThrottle: Sendable {
    struct Policy: Sendable {
        var maxFailures: Int
        var window: Int
        var lockout: Int
    }

    static let perIdentifier = Policy(maxFailures: 5, window: 15 * 60_000, lockout: 15 * 60_000)
    static let perAddress = Policy(maxFailures: 30, window: 15 * 60_000, lockout: 15 * 60_000)

    let database: any Database

    /// Seconds until the caller may try again, or `nil` when it may try now.
    func retryAfter(identifier: String, address: String?) async throws -> Int? {
        let keys = Self.keys(identifier: identifier, address: address).map(\.key)
        let now = Clock.nowMillis()
        let lockedUntil = try await database.read { db in
            try await db.select().column("locked_until").from("login_throttle").where("key", .in, keys).all()
                .map { try $0.decode(column: "locked_until", as: Int.self) }.max() ?? 0
        }
        return lockedUntil > now ? max(1, (lockedUntil - now + 999) / 1000) : nil
    }

    func recordFailure(identifier: String, address: String?) async throws {
        let now = Clock.nowMillis()
        try await database.transaction { db in
            for (key, policy) in Self.keys(identifier: identifier, address: address) {
                let row = try await db.select().columns("failures", "window_start").from("login_throttle").where("key", .equal, key).first()
                var failures = 1
                var windowStart = now
                if let row {
                    let start = try row.decode(column: "window_start", as: Int.self)
                    if now - start < policy.window {
                        failures = try row.decode(column: "failures", as: Int.self) + 1
                        windowStart = start
                    }
                }
                let lockedUntil = failures >= policy.maxFailures ? now + policy.lockout : 0
                try await db.insert(into: "login_throttle").columns("key", "failures", "window_start", "locked_until")
                    .values(SQLBind(key), SQLBind(failures), SQLBind(windowStart), SQLBind(lockedUntil))
                    .onConflict(with: ["key"]) { $0.set(excludedValueOf: "failures").set(excludedValueOf: "window_start").set(excludedValueOf: "locked_until") }
                    .run()
            }
        }
    }

    func recordSuccess(identifier: String) async throws {
        try await database.transaction { db in
            try await db.delete(from: "login_throttle").where("key", .equal, Self.identifierKey(identifier)).run()
        }
    }

    private static func keys(identifier: String, address: String?) -> [(key: String, policy: Policy)] {
        var keys = [(identifierKey(identifier), perIdentifier)]
        if let address { keys.append(("ip:" + hash(address), perAddress)) }
        return keys
    }

    private static func identifierKey(_ identifier: String) -> String { "id:" + hash(identifier.uppercased()) }

    private static func hash(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}
