import Crypto
import Foundation
import SQLKit
import SyncCore

/// Sync clients (`sync_clients`): each replica's exactly-once record, bound to the account and the device that first
/// used it; and the verdicts of its mutations (`sync_verdicts`).
///
/// A client id names one replica on one live device. When a request comes from another device of the same account:
/// if the bound device has logged out or been revoked, the client moves to the new device (a phone that logged in
/// again keeps its replica); if it is still live, the replica was copied, and the request is refused with
/// `client_cloned` so the copy takes a new client id instead of interleaving mutation ids with the original.
struct SyncClients: Sendable {
    /// Whether a device is live (not logged out, not revoked): Identity's answer, injected.
    let deviceIsActive: @Sendable (String) async throws -> Bool
    let runtime: Runtime
    /// Most sync clients one account may have; beyond it, clients of revoked devices are forgotten first.
    static let maxPerAccount = 50

    struct Row: Sendable, Equatable {
        var accountID: String
        var deviceID: String
        var lastMutationID: Int
    }

    /// Takes the client's row lock (an UPDATE locks on both engines) and returns its last mutation id, creating and
    /// binding the client on first use.
    func lock(_ clientID: String, identity: Identity, on db: any SQLDatabase) async throws -> Int {
        for _ in 0..<2 {
            let row = try await db.raw(
                """
                UPDATE sync_clients SET updated_at = \(bind: runtime.now()) WHERE client_id = \(bind: clientID)
                RETURNING last_mutation_id, account_id, device_id
                """
            ).first()
            if let row {
                let found = try Self.decode(row)
                try await checkBinding(found, clientID: clientID, identity: identity, on: db)
                return found.lastMutationID
            }
            try await create(clientID, identity: identity, on: db)
        }
        throw SyncError.clientRowMissing
    }

    /// The client's row as a pull reads it (no lock); `nil` before its first use.
    static func row(_ clientID: String, on db: any SQLDatabase) async throws -> Row? {
        try await db.select().columns("last_mutation_id", "account_id", "device_id").from("sync_clients").where("client_id", .equal, clientID)
            .first().map(decode)
    }

    /// Binds a client a pull met for the first time, or moves it to a new device (see the type's comment).
    func bindForPull(_ clientID: String, found: Row?, identity: Identity, database: any Database) async throws {
        if let found {
            guard found.accountID == identity.accountID else { throw AppError(.clientMismatch, "This clientId belongs to another account.") }
            guard found.deviceID != identity.deviceID else { return }
        }
        _ = try await database.transaction { db in try await lock(clientID, identity: identity, on: db) }
    }

    /// The account must match; a different device takes the client over only if the bound one is no longer live.
    private func checkBinding(_ found: Row, clientID: String, identity: Identity, on db: any SQLDatabase) async throws {
        guard found.accountID == identity.accountID else { throw AppError(.clientMismatch, "This clientId belongs to another account.") }
        guard found.deviceID != identity.deviceID else { return }
        guard try await !deviceIsActive(found.deviceID) else {
            throw AppError(
                .clientCloned,
                "This clientId is in use by another of your devices (a copied replica?). Start a new client id and resend your pending mutations.")
        }
        try await db.update("sync_clients").set("device_id", to: identity.deviceID).where("client_id", .equal, clientID).run()
    }

    private func create(_ clientID: String, identity: Identity, on db: any SQLDatabase) async throws {
        let count =
            try await db.raw("SELECT COUNT(*) AS n FROM sync_clients WHERE account_id = \(bind: identity.accountID)").first()?
            .decode(column: "n", as: Int.self) ?? 0
        if count >= Self.maxPerAccount {
            // Forget the clients of devices that are gone before refusing a new one.
            let rows = try await db.select().columns("client_id", "device_id").from("sync_clients").where("account_id", .equal, identity.accountID)
                .all()
            for row in rows {
                let device = try row.decode(column: "device_id", as: String.self)
                if try await !deviceIsActive(device) {
                    try await db.delete(from: "sync_clients").where("client_id", .equal, try row.decode(column: "client_id", as: String.self)).run()
                }
            }
            let left =
                try await db.raw("SELECT COUNT(*) AS n FROM sync_clients WHERE account_id = \(bind: identity.accountID)").first()?
                .decode(column: "n", as: Int.self) ?? 0
            guard left < Self.maxPerAccount else {
                throw AppError(.quotaExceeded, "This account has \(Self.maxPerAccount) sync clients; log out of devices you no longer use.")
            }
        }
        try await db.raw(
            """
            INSERT INTO sync_clients (client_id, account_id, device_id, last_mutation_id, updated_at)
            VALUES (\(bind: clientID), \(bind: identity.accountID), \(bind: identity.deviceID), 0, \(bind: runtime.now()))
            ON CONFLICT (client_id) DO NOTHING
            """
        ).run()
    }

    private static func decode(_ row: any SQLRow) throws -> Row {
        Row(
            accountID: try row.decode(column: "account_id", as: String.self), deviceID: try row.decode(column: "device_id", as: String.self),
            lastMutationID: try row.decode(column: "last_mutation_id", as: Int.self))
    }
}

/// The stored verdicts of processed mutations, so a retried push gets the first answer and a reused id with other
/// content is told apart from a retry.
enum Verdicts {
    /// How long verdicts are kept: as long as the tombstone horizon, the longest a phone is expected to stay offline.
    static let retention: Duration = .seconds(30 * 24 * 3600)

    /// What a mutation is, for comparing a retry with the original: its name and exact argument bytes.
    static func digest(_ mutation: PendingMutation) -> String {
        SHA256.hash(data: Data(mutation.name.utf8) + Data([0]) + Data(mutation.args)).map { String(format: "%02x", $0) }.joined()
    }

    static func record(_ result: MutationResult, digest: String, clientID: String, now: Int, on db: any SQLDatabase) async throws {
        try await db.insert(into: "sync_verdicts").columns("client_id", "mutation_id", "digest", "result", "created_at")
            .values(
                SQLBind(clientID), SQLBind(result.id), SQLBind(digest), SQLBind(String(decoding: SyncJSON.encode(result), as: UTF8.self)),
                SQLBind(now)
            )
            .onConflict(with: ["client_id", "mutation_id"]) {
                $0.set(excludedValueOf: "digest").set(excludedValueOf: "result").set(excludedValueOf: "created_at")
            }
            .run()
    }

    /// The answer to a mutation id the client sent before: the original verdict when the content matches,
    /// `mutation_id_reused` when it does not, `duplicate` when the verdict has expired.
    static func replay(_ mutation: PendingMutation, clientID: String, on db: any SQLDatabase) async throws -> MutationResult {
        guard
            let row = try await db.select().columns("digest", "result").from("sync_verdicts").where("client_id", .equal, clientID)
                .where("mutation_id", .equal, mutation.id).first()
        else { return MutationResult(id: mutation.id, status: .duplicate) }
        guard try row.decode(column: "digest", as: String.self) == digest(mutation) else {
            return .rejected(
                mutation.id,
                MutationRejection(
                    .mutationIDReused, "Mutation \(mutation.id) was already used for a different mutation; renumber it after lastMutationId."))
        }
        return try SyncJSON.decoder.decode(MutationResult.self, from: Data(try row.decode(column: "result", as: String.self).utf8))
    }

    /// Forgets verdicts older than the retention window; returns how many went.
    static func purge(before cutoff: Int, on db: any SQLDatabase) async throws -> Int {
        let rows = try await db.raw("DELETE FROM sync_verdicts WHERE created_at < \(bind: cutoff) RETURNING mutation_id").all()
        return rows.count
    }
}
