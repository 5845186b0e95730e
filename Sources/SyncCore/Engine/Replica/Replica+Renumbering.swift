import Foundation
import GRDB

/// Mutation ids after a restore or a copy (S10). The server numbers each client's mutations 1, 2, 3, …; a replica
/// restored from an old backup or copied to a second phone reuses ids the server holds for other mutations, and a
/// server restored from a backup lacks ids the replica thinks it has. Nothing pending is ever dropped: it is given
/// the ids the server expects next and sent again.
extension Replica {
    /// Gives the mutations from `firstID` on that the server has not applied — unanswered ones, and applied ones past
    /// `lastMutationID` that a restored server lost — the ids after `lastMutationID`, in order, and pushes
    /// them as new. Rejections the server gave past `lastMutationID` stay listed, under ids below 1 (the server no
    /// longer knows them). Returns how many mutations changed id or were reopened (0: nothing to resend).
    @discardableResult
    public func renumberPending(from firstID: Int, after lastMutationID: Int) throws -> Int {
        try writer.write { db in
            let renumbered = try self.renumber(from: firstID, after: lastMutationID, db)
            _ = try self.rebase(db)
            return renumbered
        }
    }

    /// Takes a new client id after the server refused this one as in use by another device (this replica was copied):
    /// the pending mutations are numbered again from 1 under the new id, the confirmed-mutation counters and reset
    /// epochs are forgotten, and entities and cursors are kept. What the old id had sent is the server's already:
    /// applied mutations leave the outbox (their effects arrive by pull), rejections stay listed. Returns the new id.
    @discardableResult
    public func startNewClient() throws -> String {
        let newID = try writer.write { db -> String in
            let newID = MetaRecord.newClientID()
            let processed = try self.lastConfirmedMutationID(db)
            let records = try OutboxRecord.order(OutboxRecord.Columns.id).fetchAll(db)
            let history = records.filter { $0.parsedVerdict == .rejected }
            let unsent = records.filter { $0.parsedVerdict == nil && $0.id > processed }
            try OutboxRecord.deleteAll(db)
            try self.insert(history: history, below: 1, db)
            for (offset, var record) in unsent.enumerated() {
                record.id = offset + 1
                record.hlc = record.parsedHLC.withNode(newID).description
                record.makePending(verdict: nil)
                try record.insert(db)
            }
            try MetaRecord.set(db, .clientID, newID)
            try MetaRecord.set(db, .lastConfirmedMutationID, "0")
            try MetaRecord.set(db, .reflectedMutationID, "0")
            try MetaRecord.set(db, .nextMutationID, String(unsent.count + 1))
            try db.execute(sql: "UPDATE cursors SET epoch = NULL")
            _ = try self.rebase(db)
            return newID
        }
        identity.withLock { $0 = newID }
        return newID
    }

    /// `renumberPending(from:after:)` inside a transaction, without the rebase.
    func renumber(from firstID: Int, after last: Int, _ db: Database) throws -> Int {
        let last = max(0, last)
        // The new ids start at last + 1, so every row they could collide with is at or after `first`.
        let first = min(firstID, last + 1)
        let records = try OutboxRecord.filter(OutboxRecord.Columns.id >= first).order(OutboxRecord.Columns.id).fetchAll(db)
        let moving = records.filter { record in
            switch record.parsedVerdict {
            case nil: true
            case .applied: record.id > last
            case .rejected: false
            }
        }
        let history = records.filter { $0.parsedVerdict == .rejected && $0.id > last }
        let changed = moving.enumerated().filter { offset, record in record.id != last + 1 + offset || record.verdict != nil }.count
        guard changed > 0 || !history.isEmpty else { return 0 }

        try OutboxRecord.filter(keys: (moving + history).map(\.id)).deleteAll(db)
        let lowest = try Int.fetchOne(db, sql: "SELECT MIN(id) FROM outbox") ?? 1
        try insert(history: history, below: min(lowest, 1), db)
        for (offset, var record) in moving.enumerated() {
            record.id = last + 1 + offset
            record.makePending(verdict: nil)
            try record.insert(db)
        }
        let highest = try Int.fetchOne(db, sql: "SELECT MAX(id) FROM outbox") ?? 0
        try MetaRecord.set(db, .lastConfirmedMutationID, String(last))
        try MetaRecord.set(db, .nextMutationID, String(max(last, highest) + 1))
        if try reflectedMutationID(db) > last { try MetaRecord.set(db, .reflectedMutationID, String(last)) }
        return changed
    }

    /// Re-inserts final rejections under ids below `bound`, in their order: kept for the app to show, never sent.
    private func insert(history: [OutboxRecord], below bound: Int, _ db: Database) throws {
        for (offset, var record) in history.enumerated() {
            record.id = bound - history.count + offset
            try record.insert(db)
        }
    }
}
