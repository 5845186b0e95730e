import Crypto
import Foundation
import SQLKit

/// `Idempotency-Key` handling for creating requests (cases now, payment orders later): the same key with the
/// same body returns the first answer without doing the work again; the same key with another body is 422
/// `idempotency_key_reused`; a request still in flight with that key is 409 `idempotency_in_flight`. A request
/// that failed leaves no record, so the client can retry with the same key.
struct IdempotencyStore: Sendable {
    let database: any Database

    /// The stored answer of a completed request.
    struct Replay: Sendable {
        var status: Int
        var response: Data
    }

    /// Runs `work` once per (account, key). `work` returns the status and the JSON it answered with.
    func run(
        key: String, accountID: String, operation: String, request: Data, work: () async throws -> (status: Int, response: Data)
    ) async throws -> Replay {
        guard (8...128).contains(key.count), key.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw AppError.badRequest("Idempotency-Key must be 8–128 visible ASCII characters.", code: "invalid_idempotency_key",
                errors: [.init(pointer: "Idempotency-Key", detail: "invalid")])
        }
        let hash = SHA256.hash(data: Data(operation.utf8) + request).map { String(format: "%02x", $0) }.joined()
        let claimed = try await database.transaction { db -> Replay? in
            if let row = try await db.select().columns("request_hash", "status", "response").from("idempotency_keys")
                .where("account_id", .equal, accountID).where("key", .equal, key).first()
            {
                guard try row.decode(column: "request_hash", as: String.self) == hash else {
                    throw AppError(status: .unprocessableContent, code: "idempotency_key_reused", title: "Idempotency key reused",
                        detail: "This Idempotency-Key was used for a different request.")
                }
                guard let status = try row.decode(column: "status", as: Int?.self), let response = try row.decode(column: "response", as: String?.self) else {
                    throw AppError(status: .conflict, code: "idempotency_in_flight", title: "Request in progress",
                        detail: "A request with this Idempotency-Key is still being processed; retry shortly.")
                }
                return Replay(status: status, response: Data(response.utf8))
            }
            try await db.insert(into: "idempotency_keys").columns("account_id", "key", "operation", "request_hash", "status", "response", "created_at")
                .values(SQLBind(accountID), SQLBind(key), SQLBind(operation), SQLBind(hash), SQLBind(Int?.none), SQLBind(String?.none), SQLBind(Clock.nowMillis()))
                .run()
            return nil
        }
        if let claimed { return claimed }
        do {
            let (status, response) = try await work()
            try await database.transaction { db in
                try await db.update("idempotency_keys").set("status", to: status).set("response", to: String(decoding: response, as: UTF8.self))
                    .where("account_id", .equal, accountID).where("key", .equal, key).run()
            }
            return Replay(status: status, response: response)
        } catch {
            try? await database.transaction { db in
                try await db.delete(from: "idempotency_keys").where("account_id", .equal, accountID).where("key", .equal, key).run()
            }
            throw error
        }
    }
}
