import Foundation
import GRDB

/// Why the replica refused a pull page.
public struct ReplicaError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stable code: `malformed_change`.
    public var code: String
    /// What was wrong.
    public var detail: String

    /// A replica error with a code and a sentence.
    public init(_ code: String, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// `code: detail`
    public var description: String { "\(code): \(detail)" }
}

extension Replica {
    /// Applies a pull page in one transaction: resets, changes, cursors and reset epochs, the server clock and
    /// confirmed mutations. An interrupted sync resumes from the last applied page.
    ///
    /// The overlay is rebuilt only when the pull ends (`hasMore == false`) or a scope is reset: a page in between
    /// leaves the edits as they were shown, so no intermediate page shows an event the final state lacks. When the
    /// pull ends, mutations the server applied leave the outbox, and applied ones past its `lastMutationID` (a server
    /// restored from a backup lost them) are renumbered to be pushed again (`ReplicaUpdate.renumbered`).
    @discardableResult
    public func apply(_ page: PullPage) throws -> ReplicaUpdate {
        try writer.write { db in
            var update = ReplicaUpdate()
            for scope in page.reset {
                // The outbox and the overlay survive: pending mutations are replayed on the re-downloaded scope.
                try db.execute(sql: "DELETE FROM entities WHERE scope = ?", arguments: [scope.rawValue])
                try db.execute(sql: "DELETE FROM cursors WHERE scope = ?", arguments: [scope.rawValue])
            }
            try self.store(page.changes, into: &update, db)

            // The epoch stays with its scope's cursor until the next reset of that scope replaces it.
            let cursor = try db.cachedStatement(
                sql: "INSERT INTO cursors (scope, seq) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET seq = excluded.seq"
            )
            for (scope, seq) in page.cursors {
                try cursor.execute(arguments: [scope.rawValue, seq])
            }
            let epoch = try db.cachedStatement(
                sql: "INSERT INTO cursors (scope, seq, epoch) VALUES (?, ?, ?) ON CONFLICT (scope) DO UPDATE SET epoch = excluded.epoch"
            )
            for (scope, value) in page.resetEpochs {
                try epoch.execute(arguments: [scope.rawValue, page.cursors[scope] ?? 0, value])
            }

            try self.learnServerTime(from: page.serverHLC, db)
            var clock = try self.clock(db)
            clock.receive(page.serverHLC)
            try self.save(clock, db)
            try self.confirmMutations(upTo: page.lastMutationID, db)

            let rebased: ReplicaUpdate
            if !page.hasMore {
                // Mutations the server applied are part of the entities once the last page is in (before it, their
                // changes may sit in a later page, so they stay in the overlay). Rejected ones stay listed.
                let last = page.lastMutationID
                try db.execute(
                    sql: "DELETE FROM outbox WHERE id <= ? AND status = ? AND verdict = ?",
                    arguments: [last, OutboxEntry.Status.pending.rawValue, OutboxRecord.Verdict.applied.rawValue]
                )
                try MetaRecord.set(db, .reflectedMutationID, String(last))
                let applied = OutboxRecord.Verdict.applied.rawValue
                let lost = try OutboxRecord.filter(OutboxRecord.Columns.verdict == applied && OutboxRecord.Columns.id > last).fetchCount(db)
                if lost > 0 { update.renumbered = try self.renumber(from: last + 1, after: last, db) }
                rebased = try self.rebase(db)
            } else if !page.reset.isEmpty {
                rebased = try self.rebase(db, partial: true)
            } else {
                return update
            }
            update.replayed = rebased.replayed
            update.rejected = rebased.rejected
            return update
        }
    }

    /// Writes changes with cached statements and no JSON re-encoding, each into its own scope's copy of the entity;
    /// a change older than that copy (by the scope's seq) is skipped.
    private func store(_ changes: [Change], into update: inout ReplicaUpdate, _ db: Database) throws {
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO entities (scope, type, id, version, seq, data, search_text) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (scope, type, id) DO UPDATE SET version = excluded.version, seq = excluded.seq,
                    data = excluded.data, search_text = excluded.search_text
                WHERE excluded.seq > entities.seq
                """
        )
        let delete = try db.cachedStatement(sql: "DELETE FROM entities WHERE scope = ? AND type = ? AND id = ? AND seq < ?")
        for change in changes {
            let scope = change.scope.rawValue
            let type = change.type.rawValue
            switch change.op {
            case .upsert:
                guard let data = change.data else {
                    throw ReplicaError("malformed_change", "upsert of \(type)/\(change.id) carries no data")
                }
                let search = schema.searchText(for: change.type, json: data)
                upsert.setUncheckedArguments([scope, type, change.id, change.version, change.seq, String(decoding: data, as: UTF8.self), search])
                try upsert.execute()
            case .delete:
                delete.setUncheckedArguments([scope, type, change.id, change.seq])
                try delete.execute()
            }
            if db.changesCount > 0 || change.op == .delete {
                update.storedChanges += 1
            } else {
                update.staleChanges += 1
            }
        }
    }
}
