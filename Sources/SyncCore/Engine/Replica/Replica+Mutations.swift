import Foundation
import GRDB

/// What applying a pull page or a push outcome did to the replica.
public struct ReplicaUpdate: Sendable, Equatable {
    /// Changes written into confirmed state.
    public var storedChanges = 0
    /// Changes skipped because the replica already held the same or a newer version.
    public var staleChanges = 0
    /// Pending mutations replayed on the new confirmed state.
    public var replayed = 0
    /// Mutations that became rejected: refused by the server, or no longer valid when replayed.
    public var rejected: [Int] = []

    /// An empty update.
    public init() {}
}

extension Replica {
    /// Runs mutator `name` optimistically on the visible state and queues it for the server, in one transaction.
    /// Throws the `MutationRejection` when the mutator refuses (nothing is queued: the app shows it right away).
    @discardableResult
    public func mutate(_ name: String, args: some Encodable, accountID: String, role: AccountRole = .citizen) throws -> PendingMutation {
        let argsJSON: [UInt8]
        do {
            argsJSON = Array(try SyncJSON.encoder.encode(args))
        } catch {
            throw MutationRejection(.invalidArgs, "The arguments cannot be encoded: \(error)")
        }
        return try writer.write { db in
            let mutator = try self.schema.mutator(named: name)
            var clock = try self.clock(db)
            let hlc = clock.tick()
            let id = try self.nextMutationID(db)
            let now = self.wallClock()
            let context = MutationContext(accountID: accountID, role: role, clientID: self.clientID, hlc: hlc, now: now, authoritative: false)
            let written = try self.run(mutator, args: argsJSON, context: context, db)
            try OutboxRecord(
                id: id, name: name, args: Data(argsJSON), hlc: hlc.description, accountID: accountID, role: role.rawValue,
                status: OutboxEntry.Status.pending.rawValue,
                code: nil, detail: nil, createdAt: now, writtenKeys: String(decoding: SyncJSON.encode(written), as: UTF8.self)
            ).insert(db)
            try MetaRecord.set(db, .nextMutationID, String(id + 1))
            try self.save(clock, db)
            return PendingMutation(id: id, name: name, args: argsJSON, hlc: hlc)
        }
    }

    /// Runs the typed mutator `M` optimistically and queues it (see `mutate(_:args:accountID:)`).
    @discardableResult
    public func mutate<M: Mutator>(_ mutator: M.Type, _ args: M.Args, accountID: String, role: AccountRole = .citizen) throws -> PendingMutation {
        try mutate(M.name, args: args, accountID: accountID, role: role)
    }

    /// The mutations the server has not processed yet, oldest first — what the next push sends.
    ///
    /// This includes mutations a rebase rejected locally but the server has not seen: the server refuses gaps in a
    /// client's ids, so every id is sent once and the server's verdict is authoritative.
    public func pendingMutations(limit: Int = .max) throws -> [PendingMutation] {
        try writer.read { db in
            let confirmed = try self.lastConfirmedMutationID(db)
            return try OutboxRecord.filter(OutboxRecord.Columns.id > confirmed).order(OutboxRecord.Columns.id).limit(limit)
                .fetchAll(db).map(\.pendingMutation)
        }
    }

    /// Records the server's answer to a push: rejected mutations stop being replayed (their optimistic effect is
    /// rolled back at once) and keep their reason for `outbox()`.
    @discardableResult
    public func apply(_ outcome: PushOutcome) throws -> ReplicaUpdate {
        try writer.write { db in
            var update = ReplicaUpdate()
            var changed = false
            // A result past `lastMutationID` is not a verdict (e.g. `out_of_order` after a gap): the mutation is resent.
            for result in outcome.results where result.id <= outcome.lastMutationID {
                guard var record = try OutboxRecord.fetchOne(db, key: result.id) else { continue }
                switch result.status {
                case .rejected:
                    if record.status == OutboxEntry.Status.pending.rawValue { update.rejected.append(result.id) }
                    record.status = OutboxEntry.Status.rejected.rawValue
                    record.code = result.code ?? "rejected"
                    record.detail = result.detail
                case .applied where record.status == OutboxEntry.Status.rejected.rawValue:
                    // The server applied what a local rebase had given up on: show it until the pull confirms it.
                    record.status = OutboxEntry.Status.pending.rawValue
                    record.code = nil
                    record.detail = nil
                case .applied, .duplicate:
                    continue
                }
                try record.update(db)
                changed = true
            }
            try self.confirmMutations(upTo: outcome.lastMutationID, db)
            if changed {
                let rebased = try self.rebase(db)
                update.replayed = rebased.replayed
                update.rejected += rebased.rejected
            }
            return update
        }
    }

    /// Every outbox entry, oldest first: pending ones and rejected ones with their reasons.
    public func outbox() throws -> [OutboxEntry] {
        try writer.read { db in
            let confirmed = try self.lastConfirmedMutationID(db)
            return try OutboxRecord.order(OutboxRecord.Columns.id).fetchAll(db).map { $0.entry(lastConfirmed: confirmed) }
        }
    }

    /// Forgets rejected entries the server has answered (after the app showed them).
    public func dismissRejected() throws {
        try writer.write { db in
            let confirmed = try self.lastConfirmedMutationID(db)
            _ = try OutboxRecord.filter(OutboxRecord.Columns.status == OutboxEntry.Status.rejected.rawValue && OutboxRecord.Columns.id <= confirmed)
                .deleteAll(db)
        }
    }

    // MARK: - Running mutators on the visible state

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

    /// Replays the pending mutations, oldest first, on the current confirmed state; one that now fails is marked
    /// rejected with its code. Each runs with its original HLC and time, so a replay is deterministic.
    ///
    /// A local rejection is only a prediction: once the server has applied a mutation, a failed replay (its effect
    /// may already be in the entities, e.g. a submit on a submitted case) just leaves it out of the overlay.
    func rebase(_ db: Database) throws -> ReplicaUpdate {
        try db.execute(sql: "DELETE FROM pending_entities")
        let confirmed = try lastConfirmedMutationID(db)
        var update = ReplicaUpdate()
        let pending = try OutboxRecord.filter(OutboxRecord.Columns.status == OutboxEntry.Status.pending.rawValue)
            .order(OutboxRecord.Columns.id).fetchAll(db)
        for var record in pending {
            let context = MutationContext(
                accountID: record.accountID, role: AccountRole(rawValue: record.role) ?? .citizen, clientID: clientID, hlc: record.parsedHLC,
                now: record.createdAt, authoritative: false)
            do {
                _ = try run(try schema.mutator(named: record.name), args: Array(record.args), context: context, db)
                update.replayed += 1
            } catch let rejection as MutationRejection {
                if record.id <= confirmed { continue }
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
