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
    /// Mutations given new ids because the server holds their old ones for other mutations (or lost them): push again.
    public var renumbered = 0

    /// An empty update.
    public init() {}
}

extension Replica {
    /// Runs mutator `name` optimistically on the visible state and queues it for the server, in one transaction.
    /// `role` is the account's kind, so the device refuses what the server would (and a rebase replays it the same way).
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
            let now = try self.now(db)
            let context = MutationContext(
                accountID: accountID, role: role, clientID: try MetaRecord.clientID(db), hlc: hlc, now: now, authoritative: false)
            let written = try self.run(mutator, args: argsJSON, context: context, db)
            try OutboxRecord(
                id: id, name: name, args: Data(argsJSON), hlc: hlc.description, accountID: accountID, role: role.rawValue,
                status: OutboxEntry.Status.pending.rawValue, code: nil, detail: nil, createdAt: now,
                writtenKeys: String(decoding: SyncJSON.encode(written), as: UTF8.self), verdict: nil, errors: nil, alternatives: nil
            ).insert(db)
            try MetaRecord.set(db, .nextMutationID, String(id + 1))
            try self.save(clock, db)
            return PendingMutation(id: id, name: name, args: argsJSON, hlc: hlc)
        }
    }

    /// Runs the typed mutator `M` optimistically and queues it (see `mutate(_:args:accountID:role:)`).
    @discardableResult
    public func mutate<M: Mutator>(_ mutator: M.Type, _ args: M.Args, accountID: String, role: AccountRole = .citizen) throws -> PendingMutation {
        try mutate(M.name, args: args, accountID: accountID, role: role)
    }

    /// The mutations the server has not given a verdict on, oldest first, with ids after `after` — what the next push
    /// sends. This includes mutations a rebase rejected locally (the server's verdict is authoritative, and it
    /// refuses gaps in a client's ids) and ones whose answer was lost (a retried id gets its original verdict).
    public func pendingMutations(after: Int = 0, limit: Int = .max) throws -> [PendingMutation] {
        try writer.read { db in
            try OutboxRecord.filter(OutboxRecord.Columns.verdict == nil && OutboxRecord.Columns.id > after).order(OutboxRecord.Columns.id)
                .limit(limit).fetchAll(db).map(\.pendingMutation)
        }
    }

    /// Records the server's answer to a push, so the outbox ends in its verdicts: a rejection rolls the optimistic
    /// effect back and keeps the reason for `outbox()`; an application (or `duplicate`, a verdict past its retention)
    /// keeps the effect visible until the pull that brings it, even where a local rebase had given up on it. Ids the
    /// server holds for other mutations (`mutation_id_reused`) or lacks (`out_of_order` past its last id, after a
    /// server restore) are renumbered after the server's last id, to be pushed again (`ReplicaUpdate.renumbered`).
    @discardableResult
    public func apply(_ outcome: PushOutcome) throws -> ReplicaUpdate {
        try writer.write { db in
            var update = ReplicaUpdate()
            let reflected = try self.reflectedMutationID(db)
            for result in outcome.verdicts {
                guard var record = try OutboxRecord.fetchOne(db, key: result.id) else { continue }
                switch result.status {
                case .rejected:
                    if record.isPending { update.rejected.append(result.id) }
                    record.reject(result)
                case .applied, .duplicate:
                    // Already reflected in what was pulled: nothing left to show or send.
                    if record.id <= reflected {
                        try record.delete(db)
                        continue
                    }
                    record.makePending(verdict: .applied)
                }
                try record.update(db)
            }
            try self.confirmMutations(upTo: outcome.lastMutationID, db)
            let last = outcome.lastMutationID
            if let reused = outcome.results.filter({ $0.code == ProblemCode.mutationIDReused.rawValue }).map(\.id).min() {
                update.renumbered = try self.renumber(from: reused, after: last, db)
            } else if outcome.results.contains(where: { $0.code == ProblemCode.outOfOrder.rawValue && $0.id > last }) {
                update.renumbered = try self.renumber(from: last + 1, after: last, db)
            }
            let rebased = try self.rebase(db)
            update.replayed = rebased.replayed
            update.rejected += rebased.rejected
            return update
        }
    }

    /// Every outbox entry, oldest first: pending ones and rejected ones with their reasons.
    public func outbox() throws -> [OutboxEntry] {
        try writer.read { db in
            try OutboxRecord.order(OutboxRecord.Columns.id).fetchAll(db).map(\.entry)
        }
    }

    /// Forgets the entries the server rejected (after the app showed them); local predictions stay until answered.
    public func dismissRejected() throws {
        try writer.write { db in
            let (rejected, verdict) = (OutboxEntry.Status.rejected.rawValue, OutboxRecord.Verdict.rejected.rawValue)
            _ = try OutboxRecord.filter(OutboxRecord.Columns.status == rejected && OutboxRecord.Columns.verdict == verdict).deleteAll(db)
        }
    }
}
