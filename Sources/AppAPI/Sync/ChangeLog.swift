import Foundation
import SQLKit
import SyncCore

/// One entity write to publish into the change log.
struct ChangeRecord: Sendable {
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
}

/// The server change log (DESIGN.md §4). Every capability's writes call `append` inside their own transaction,
/// so a write and its change commit or roll back together.
///
/// Sequence numbers come from `scope_heads`, bumped by an upsert that takes the scope's row lock: within a scope
/// commit order equals sequence order on SQLite and Postgres alike, so a reader never sees seq n+1 before n.
/// Scopes are locked in sorted order so two writers touching the same scopes cannot deadlock.
enum ChangeLog {
    /// Appends `records`, assigning each the next sequence number of its scope. Returns the new head per scope.
    @discardableResult
    static func append(_ records: [ChangeRecord], on db: any SQLDatabase) async throws -> [Scope: Int] {
        let byScope = Dictionary(grouping: records, by: \.scope)
        var heads: [Scope: Int] = [:]
        let now = Clock.nowMillis()
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
        CommitHeads.current?.record(heads)
        return heads
    }

    /// The current head (latest sequence number) of a scope; 0 when nothing was ever written to it.
    static func head(of scope: Scope, on db: any SQLDatabase) async throws -> Int {
        try await db.raw("SELECT seq FROM scope_heads WHERE scope = \(bind: scope.rawValue)").first()?.decode(column: "seq", as: Int.self) ?? 0
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
