import Foundation
import SQLKit
import SyncCore

/// One entity write to publish into the change log.
struct ChangeRecord: Sendable, Equatable {
    enum Operation: String, Sendable { case upsert, delete }

    let scope: Scope
    let type: EntityType
    let id: String
    let op: Operation
    /// The entity's JSON (`nil` for a delete, which leaves a tombstone).
    let data: String?

    static func upsert<E: Encodable>(_ entity: E, id: String, type: EntityType, in scope: Scope) throws -> ChangeRecord {
        ChangeRecord(scope: scope, type: type, id: id, op: .upsert, data: try ChangeLog.encode(entity))
    }

    static func upsert<E: SyncEntity>(_ entity: E, in scope: Scope) throws -> ChangeRecord {
        try upsert(entity, id: entity.id, type: E.entityType, in: scope)
    }

    static func upsert(json: [UInt8], key: EntityKey, in scope: Scope) -> ChangeRecord {
        ChangeRecord(scope: scope, type: key.type, id: key.id, op: .upsert, data: String(decoding: json, as: UTF8.self))
    }

    static func delete(_ key: EntityKey, in scope: Scope) -> ChangeRecord {
        ChangeRecord(scope: scope, type: key.type, id: key.id, op: .delete, data: nil)
    }

    var key: EntityKey { EntityKey(type, id) }
}

/// Scope heads a transaction moved; published to event streams (and on Postgres to other instances) once it commits.
struct ScopeHeadsMoved: Sendable {
    var heads: [Scope: Int]
}

/// The server change log (docs/ARCHITECTURE.md, "Delta sync"). Every capability's writes call `append` inside their
/// own transaction, so a write and its change commit or roll back together; every "load this entity" goes through
/// `entity(_:in:on:locking:)`.
///
/// Sequence numbers come from `scope_heads`, bumped by an upsert that takes the scope's row lock: within a scope
/// commit order equals sequence order on SQLite and Postgres alike, so a reader never sees seq n+1 before n.
/// Scopes are locked in sorted order so two writers touching the same scopes cannot deadlock on them.
enum ChangeLog {
    /// The most bytes one entity's JSON may have: a pull page (about 1 MiB) always holds at least one entity, and a
    /// phone never downloads a giant.
    static let maxEntityBytes = 256 << 10

    /// Appends `records`, assigning each the next sequence number of its scope; a key written twice keeps its last
    /// record. Returns the new head per scope.
    @discardableResult
    static func append(_ records: [ChangeRecord], on db: any SQLDatabase, now: Int = Clock.nowMillis()) async throws -> [Scope: Int] {
        let byScope = Dictionary(grouping: latestPerEntity(records), by: \.scope)
        var heads: [Scope: Int] = [:]
        for scope in byScope.keys.sorted() {
            let scoped = byScope[scope]!
            let head = try await bump(scope, by: scoped.count, on: db)
            heads[scope] = head
            var seq = head - scoped.count
            for chunk in scoped.chunked(into: 400) {
                var insert = db.insert(into: "changes").columns("scope", "entity_type", "entity_id", "seq", "op", "version", "data", "changed_at")
                for record in chunk {
                    seq += 1
                    insert = insert.values(
                        SQLBind(record.scope.rawValue), SQLBind(record.type.rawValue), SQLBind(record.id), SQLBind(seq),
                        SQLBind(record.op.rawValue), SQLBind(1), SQLBind(record.data), SQLBind(now)
                    )
                }
                try await insert.onConflict(with: ["scope", "entity_type", "entity_id"]) { conflict in
                    conflict.set(excludedValueOf: "seq").set(excludedValueOf: "op").set(excludedValueOf: "data")
                        .set(excludedValueOf: "changed_at")
                        .set("version", to: SQLRaw("changes.version + 1"))
                }.run()
            }
        }
        if !heads.isEmpty { TransactionNotes.record(ScopeHeadsMoved(heads: heads)) }
        return heads
    }

    /// The current JSON of an entity in `scope` (`nil` when absent or deleted). `locking` takes the row's lock for
    /// the rest of the transaction on PostgreSQL (SQLite's single writer holds everything anyway), so a
    /// read-modify-write decides on what it locked.
    static func entity(_ key: EntityKey, in scope: Scope, on db: any SQLDatabase, locking: Bool = false) async throws -> [UInt8]? {
        let lock = locking ? db.forUpdate : ""
        let row = try await db.raw(
            """
            SELECT op, data FROM changes WHERE scope = \(bind: scope.rawValue) AND entity_type = \(bind: key.type.rawValue)
            AND entity_id = \(bind: key.id)\(unsafeRaw: lock)
            """
        ).first()
        guard let row, try row.decode(column: "op", as: String.self) == Change.Operation.upsert.rawValue,
            let data = try row.decode(column: "data", as: String?.self)
        else { return nil }
        return Array(data.utf8)
    }

    /// The current entity `E` with `id` in `scope`, decoded.
    static func entity<E: SyncEntity>(_ type: E.Type, id: String, in scope: Scope, on db: any SQLDatabase, locking: Bool = false) async throws -> E? {
        try await entity(EntityKey(E.entityType, id), in: scope, on: db, locking: locking).map { try SyncJSON.decoder.decode(E.self, from: Data($0)) }
    }

    /// Every live entity of type `E` in `scope`.
    static func entities<E: SyncEntity>(_ type: E.Type, in scope: Scope, on db: any SQLDatabase) async throws -> [E] {
        try await db.select().column("data").from("changes").where("scope", .equal, scope.rawValue)
            .where("entity_type", .equal, E.entityType.rawValue).where("op", .equal, Change.Operation.upsert.rawValue).all()
            .compactMap { try $0.decode(column: "data", as: String?.self) }
            .map { try SyncJSON.decoder.decode(E.self, from: Data($0.utf8)) }
    }

    /// The current head (latest sequence number) of a scope; 0 when nothing was ever written to it.
    static func head(of scope: Scope, on db: any SQLDatabase) async throws -> Int {
        try await db.raw("SELECT seq FROM scope_heads WHERE scope = \(bind: scope.rawValue)").first()?.decode(column: "seq", as: Int.self) ?? 0
    }

    /// Takes `scope`'s head row lock until the transaction ends, creating the head when the scope has none yet, so
    /// read-modify-writes over one scope (an account's uploads, its open appointments) take turns on PostgreSQL as
    /// they do on SQLite's single writer. Writing a change to the scope takes the same lock.
    static func lock(_ scope: Scope, on db: any SQLDatabase) async throws {
        try await db.raw(
            """
            INSERT INTO scope_heads (scope, seq) VALUES (\(bind: scope.rawValue), 0)
            ON CONFLICT (scope) DO UPDATE SET seq = scope_heads.seq
            """
        ).run()
    }

    /// One record per entity (its final state), in first-written order.
    static func latestPerEntity(_ records: [ChangeRecord]) -> [ChangeRecord] {
        var order: [String] = []
        var latest: [String: ChangeRecord] = [:]
        for record in records {
            let key = "\(record.scope.rawValue)|\(record.type.rawValue)|\(record.id)"
            if latest[key] == nil { order.append(key) }
            latest[key] = record
        }
        return order.map { latest[$0]! }
    }

    private static func bump(_ scope: Scope, by count: Int, on db: any SQLDatabase) async throws -> Int {
        let row = try await db.raw(
            """
            INSERT INTO scope_heads (scope, seq) VALUES (\(bind: scope.rawValue), \(bind: count))
            ON CONFLICT (scope) DO UPDATE SET seq = scope_heads.seq + \(bind: count) RETURNING seq
            """
        ).first()
        guard let row else { throw ChangeLogError.noHead(scope) }
        return try row.decode(column: "seq", as: Int.self)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func encode<E: Encodable>(_ entity: E) throws -> String {
        String(decoding: try encoder.encode(entity), as: UTF8.self)
    }
}

enum ChangeLogError: Error {
    case noHead(Scope)
}

extension Array {
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
