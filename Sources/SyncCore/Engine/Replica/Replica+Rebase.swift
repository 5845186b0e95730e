import Foundation
import GRDB

// MARK: - Running mutators on the visible state

extension Replica {
    /// Loads what `mutator` reads from the visible state, applies it, and writes its result into the overlay.
    func run(_ mutator: AnyMutator, args: [UInt8], context: MutationContext, _ db: Database) throws -> [EntityKey] {
        var loaded: [EntityKey: [UInt8]?] = [:]
        for key in try mutator.reads(args, context: context) {
            loaded[key] = .some(try visibleJSON(key, db))
        }
        var state = MutationState(entities: loaded)
        try mutator.apply(args, to: &state, context: context)
        for key in state.written {
            try writePending(key, json: state.json(key), accountID: context.accountID, db)
        }
        return state.written
    }

    /// Rebuilds the overlay: replays the pending mutations, oldest first, on the current confirmed state; one that now
    /// fails is marked rejected with its code. Each runs with its original HLC and time, so a replay is deterministic.
    ///
    /// A mutation already reflected in the confirmed entities (up to the last finished pull's `lastMutationId`) is not
    /// replayed: replaying a non-idempotent one (a 容缺 supplement) would show its effect twice. With `partial`, the
    /// confirmed state is mid-pull (a reset page with more to come): nothing the server has processed is replayed.
    ///
    /// A local rejection is only a prediction, made only for a mutation the server has not processed: once it has,
    /// a failed replay just leaves the mutation out of the overlay until its verdict arrives.
    func rebase(_ db: Database, partial: Bool = false) throws -> ReplicaUpdate {
        try db.execute(sql: "DELETE FROM pending_entities")
        let confirmed = try lastConfirmedMutationID(db)
        let reflected = try reflectedMutationID(db)
        let floor = partial ? max(reflected, confirmed) : reflected
        let clientID = try MetaRecord.clientID(db)
        var update = ReplicaUpdate()
        let pending = try OutboxRecord.filter(OutboxRecord.Columns.status == OutboxEntry.Status.pending.rawValue && OutboxRecord.Columns.id > floor)
            .order(OutboxRecord.Columns.id).fetchAll(db)
        for var record in pending {
            let context = MutationContext(
                accountID: record.accountID, role: AccountRole(rawValue: record.role) ?? .citizen, clientID: clientID, hlc: record.parsedHLC,
                now: record.createdAt, authoritative: false)
            do {
                _ = try run(try schema.mutator(named: record.name), args: Array(record.args), context: context, db)
                update.replayed += 1
            } catch let rejection as MutationRejection {
                guard record.parsedVerdict == nil, record.id > confirmed else { continue }
                record.status = OutboxEntry.Status.rejected.rawValue
                record.code = rejection.code.rawValue
                record.detail = rejection.detail
                try record.update(db)
                update.rejected.append(record.id)
            }
        }
        return update
    }

    /// The JSON the app sees for `key`: the overlay's if a pending mutation wrote it, else the confirmed copy — the
    /// account's own (`user:`) one when the entity lives in several scopes.
    func visibleJSON(_ key: EntityKey, _ db: Database) throws -> [UInt8]? {
        let arguments: StatementArguments = [key.type.rawValue, key.id]
        let overlay = try db.cachedStatement(sql: "SELECT data FROM pending_entities WHERE type = ? AND id = ?")
        if let row = try Row.fetchOne(overlay, arguments: arguments) {
            return (row[0] as String?).map { Array($0.utf8) }
        }
        let confirmed = try db.cachedStatement(sql: "SELECT data FROM entities WHERE type = ? AND id = ? \(Self.preferredCopyFirst) LIMIT 1")
        return try String.fetchOne(confirmed, arguments: arguments).map { Array($0.utf8) }
    }

    /// Orders an entity's confirmed copies as `visible_entities` prefers them: `user:` first, then by scope.
    static let preferredCopyFirst = "ORDER BY substr(scope, 1, 5) = 'user:' DESC, scope"

    private func writePending(_ key: EntityKey, json: [UInt8]?, accountID: String, _ db: Database) throws {
        // A new entity belongs to the mutating account's scope; an existing one stays where it is.
        let arguments: StatementArguments = [key.type.rawValue, key.id]
        let overlayScope = try db.cachedStatement(sql: "SELECT scope FROM pending_entities WHERE type = ? AND id = ?")
        let confirmedScope = try db.cachedStatement(sql: "SELECT scope FROM entities WHERE type = ? AND id = ? \(Self.preferredCopyFirst) LIMIT 1")
        let scope =
            try String.fetchOne(overlayScope, arguments: arguments) ?? String.fetchOne(confirmedScope, arguments: arguments)
            ?? Scope.user(accountID).rawValue
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO pending_entities (type, id, scope, data, search_text) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (type, id) DO UPDATE SET data = excluded.data, search_text = excluded.search_text
                """
        )
        let text = json.map { String(decoding: $0, as: UTF8.self) }
        let search = json.flatMap { schema.searchText(for: key.type, json: $0) }
        try upsert.execute(arguments: [key.type.rawValue, key.id, scope, text, search])
    }
}
