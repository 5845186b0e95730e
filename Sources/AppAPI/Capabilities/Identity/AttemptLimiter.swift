import Foundation
import HTTPTypes
import SQLKit

/// Rate limits kept in the database (`login_throttle`), so every instance sees the same counts. An attempt is
/// *reserved* before it is evaluated, with one atomic upsert per key that also starts a new window when the old one
/// is over; so of twenty parallel guesses only the first `limit` are evaluated, exactly, on both engines (Postgres
/// serialises the upserts on the row lock, SQLite has one writer). A refused attempt gives its reservation back in the
/// same transaction, so requests that were refused never count.
struct AttemptLimiter: Sendable {
    struct Policy: Sendable, Equatable {
        /// Attempts in flight plus failures (or, without a lockout, all attempts) allowed per window.
        var limit: Int
        /// Milliseconds.
        var window: Int
        /// Milliseconds a key stays locked once `limit` attempts failed; `nil` when every attempt counts and the
        /// window alone limits (registrations).
        var lockout: Int?
        /// A success clears the key (the owner's own typos from that address are forgiven) instead of only giving
        /// its reservation back.
        var successForgets = false
    }

    struct Key: Sendable, Equatable {
        /// Hashed: the table never holds an identifier or an address.
        var key: String
        var policy: Policy
    }

    /// The keys an admitted attempt counts against, each with the window it was counted in.
    struct Reservation: Sendable {
        fileprivate var entries: [(key: Key, windowStart: Int)]
    }

    let database: any Database
    let runtime: Runtime

    /// How long a caller refused only because the limit is taken by attempts still being evaluated should wait: by
    /// then they have failed (and locked the key) or succeeded.
    static let inFlightRetrySeconds = 5

    /// Counts an attempt under every key, or throws 429 `too_many_attempts` with `Retry-After`.
    func reserve(_ keys: [Key]) async throws -> Reservation {
        let now = runtime.now()
        // Sorted, so two transactions on the same keys lock them in the same order and cannot deadlock.
        let sorted = keys.sorted { $0.key < $1.key }
        enum Outcome: Sendable {
            case admitted([(key: Key, windowStart: Int)])
            case refused(retryAfter: Int)
        }
        let outcome: Outcome = try await database.transaction { db in
            var entries: [(key: Key, windowStart: Int)] = []
            var waitMillis: Int?
            for key in sorted {
                let row = try await Self.count(key, now: now, on: db)
                entries.append((key, row.windowStart))
                let wait: Int? =
                    if row.lockedUntil > now {
                        row.lockedUntil - now
                    } else if row.attempts > key.policy.limit {
                        key.policy.lockout == nil ? row.windowStart + key.policy.window - now : Self.inFlightRetrySeconds * 1000
                    } else {
                        nil
                    }
                if let wait { waitMillis = max(waitMillis ?? 0, wait) }
            }
            guard let waitMillis else { return .admitted(entries) }
            for entry in entries { try await Self.giveBack(entry.key, windowStart: entry.windowStart, on: db) }
            return .refused(retryAfter: max(1, (waitMillis + 999) / 1000))
        }
        switch outcome {
        case .admitted(let entries):
            return Reservation(entries: entries)
        case .refused(let retryAfter):
            var headers = HTTPFields()
            headers[.retryAfter] = String(retryAfter)
            throw AppError(.tooManyAttempts, "Too many attempts. Try again in \(retryAfter) seconds.", headers: headers)
        }
    }

    /// The attempt failed: keys with a lockout count a failure and lock once `limit` failures are reached.
    func failed(_ reservation: Reservation) async throws {
        let now = runtime.now()
        try await database.transaction { db in
            for (key, windowStart) in reservation.entries {
                guard let lockout = key.policy.lockout else { continue }
                try await db.raw(
                    """
                    UPDATE login_throttle SET failures = failures + 1,
                        locked_until = CASE WHEN failures + 1 >= \(bind: key.policy.limit) THEN \(bind: now + lockout) ELSE locked_until END
                    WHERE "key" = \(bind: key.key) AND window_start = \(bind: windowStart)
                    """
                ).run()
            }
        }
    }

    /// The attempt succeeded: forgetting keys are cleared, the others get their reservation back.
    func succeeded(_ reservation: Reservation) async throws {
        try await database.transaction { db in
            for (key, windowStart) in reservation.entries {
                if key.policy.successForgets {
                    try await db.raw(#"DELETE FROM login_throttle WHERE "key" = \#(bind: key.key)"#).run()
                } else {
                    try await Self.giveBack(key, windowStart: windowStart, on: db)
                }
            }
        }
    }

    /// The attempt was not evaluated (the server was busy): every reservation is given back.
    func cancelled(_ reservation: Reservation) async throws {
        try await database.transaction { db in
            for (key, windowStart) in reservation.entries { try await Self.giveBack(key, windowStart: windowStart, on: db) }
        }
    }

    /// Forgets keys whose window ended long ago and that are not locked.
    func purge(olderThan age: Duration) async throws -> Int {
        let now = runtime.now()
        let cutoff = now - Int(age.components.seconds) * 1000
        return try await database.transaction { db in
            try await db.raw("DELETE FROM login_throttle WHERE window_start < \(bind: cutoff) AND locked_until < \(bind: now) RETURNING \"key\"")
                .all().count
        }
    }

    private struct Row {
        var attempts: Int
        var windowStart: Int
        var lockedUntil: Int
    }

    /// One atomic statement: a new window when the old one is over and the key is not locked, else one more attempt.
    private static func count(_ key: Key, now: Int, on db: any SQLDatabase) async throws -> Row {
        let stale = now - key.policy.window
        let row = try await db.raw(
            """
            INSERT INTO login_throttle ("key", attempts, failures, window_start, locked_until) VALUES (\(bind: key.key), 1, 0, \(bind: now), 0)
            ON CONFLICT ("key") DO UPDATE SET
                attempts = CASE WHEN login_throttle.window_start <= \(bind: stale) AND login_throttle.locked_until <= \(bind: now)
                    THEN 1 ELSE login_throttle.attempts + 1 END,
                failures = CASE WHEN login_throttle.window_start <= \(bind: stale) AND login_throttle.locked_until <= \(bind: now)
                    THEN 0 ELSE login_throttle.failures END,
                window_start = CASE WHEN login_throttle.window_start <= \(bind: stale) AND login_throttle.locked_until <= \(bind: now)
                    THEN \(bind: now) ELSE login_throttle.window_start END,
                locked_until = CASE WHEN login_throttle.window_start <= \(bind: stale) AND login_throttle.locked_until <= \(bind: now)
                    THEN 0 ELSE login_throttle.locked_until END
            RETURNING attempts, window_start, locked_until
            """
        ).first()
        guard let row else { throw AppError.internalError }
        return Row(
            attempts: try row.decode(column: "attempts", as: Int.self), windowStart: try row.decode(column: "window_start", as: Int.self),
            lockedUntil: try row.decode(column: "locked_until", as: Int.self))
    }

    private static func giveBack(_ key: Key, windowStart: Int, on db: any SQLDatabase) async throws {
        try await db.raw(
            #"UPDATE login_throttle SET attempts = attempts - 1 WHERE "key" = \#(bind: key.key) AND window_start = \#(bind: windowStart) AND attempts > 0"#
        ).run()
    }
}
