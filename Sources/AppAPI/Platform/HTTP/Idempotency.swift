import Crypto
import Foundation
import SQLKit
import SyncCore

/// `Idempotency-Key` handling for creating requests (cases now, payment orders later): the same key with the
/// same body returns the first answer without doing the work again; the same key with another body is 422
/// `idempotency_key_reused`.
///
/// The key, the work and the stored answer commit in one transaction (the caller's): a crash or a failed commit
/// leaves neither the key nor the work, so a retry simply does it again, and no key is ever stuck "in flight".
/// Two first uses at once: the second insert waits for the first transaction and then replays its answer
/// (PostgreSQL), or runs after it (SQLite's single writer).
struct IdempotencyStore: Sendable {
    /// Keys are kept this long, then forgotten (a periodic job).
    static let retention: Duration = .seconds(24 * 3600)

    let runtime: Runtime

    /// The stored answer of a completed request.
    struct Replay: Sendable {
        var status: Int
        var response: Data
    }

    /// Runs `work` once per (account, key), in the caller's transaction `db`. `work` returns the status and the JSON
    /// it answered with.
    func run(
        key: String, accountID: String, operation: String, request: Data, on db: any SQLDatabase,
        work: () async throws -> (status: Int, response: Data)
    ) async throws -> Replay {
        guard (8...128).contains(key.utf8.count), key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw AppError.badRequest(
                "Idempotency-Key must be 8–128 visible ASCII characters.", code: .invalidIdempotencyKey,
                errors: [.init(pointer: "Idempotency-Key", detail: "invalid")])
        }
        let hash = SHA256.hash(data: Data(operation.utf8) + request).map { String(format: "%02x", $0) }.joined()
        let claimed = try await db.raw(
            """
            INSERT INTO idempotency_keys (account_id, key, operation, request_hash, status, response, created_at)
            VALUES (\(bind: accountID), \(bind: key), \(bind: operation), \(bind: hash), NULL, NULL, \(bind: runtime.now()))
            ON CONFLICT (account_id, key) DO NOTHING RETURNING key
            """
        ).first()
        guard claimed != nil else { return try await replay(key: key, accountID: accountID, hash: hash, on: db) }
        let (status, response) = try await work()
        try await db.update("idempotency_keys").set("status", to: status).set("response", to: String(decoding: response, as: UTF8.self))
            .where("account_id", .equal, accountID).where("key", .equal, key).run()
        return Replay(status: status, response: response)
    }

    private func replay(key: String, accountID: String, hash: String, on db: any SQLDatabase) async throws -> Replay {
        guard
            let row = try await db.select().columns("request_hash", "status", "response").from("idempotency_keys")
                .where("account_id", .equal, accountID).where("key", .equal, key).first()
        else {
            throw AppError(.idempotencyInFlight, "A request with this Idempotency-Key is being processed; retry shortly.")
        }
        guard try row.decode(column: "request_hash", as: String.self) == hash else {
            throw AppError(.idempotencyKeyReused, "This Idempotency-Key was used for a different request.")
        }
        guard let status = try row.decode(column: "status", as: Int?.self), let response = try row.decode(column: "response", as: String?.self) else {
            throw AppError(.idempotencyInFlight, "A request with this Idempotency-Key is being processed; retry shortly.")
        }
        return Replay(status: status, response: Data(response.utf8))
    }

    /// Forgets keys past the retention window, as a periodic job.
    func purgeJob(_ database: any Database) -> PeriodicJob {
        PeriodicJob(name: "idempotency keys", interval: .seconds(3600)) { [runtime] in
            let cutoff = runtime.now() - Int(Self.retention.components.seconds) * 1000
            let purged = try await database.transaction { db in
                try await db.raw("DELETE FROM idempotency_keys WHERE created_at < \(bind: cutoff) RETURNING key").all().count
            }
            return purged > 0 ? "forgot \(purged) expired keys" : nil
        }
    }
}
