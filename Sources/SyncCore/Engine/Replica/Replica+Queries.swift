import Foundation
import GRDB

/// Offline queries for the app. They read the visible state: the pending overlay over server-confirmed entities,
/// so a device sees its own edits at once, before the server has confirmed them.
extension Replica {
    /// One entity by id, or nil when absent or deleted.
    public func entity<E: SyncEntity>(_ type: E.Type, id: String) throws -> E? {
        try writer.read { db in
            try self.visibleJSON(EntityKey(E.entityType, id), db).map { try Self.decode(E.self, $0) }
        }
    }

    /// Every entity of a type, ordered by id; with `scope`, that scope's copies (an entity in two scopes is listed in
    /// each, with this device's pending edits over either copy).
    public func entities<E: SyncEntity>(_ type: E.Type, in scope: Scope? = nil) throws -> [E] {
        try writer.read { db in
            guard let scope else {
                let sql = "SELECT data FROM visible_entities WHERE type = ? ORDER BY id"
                return try String.fetchAll(db, sql: sql, arguments: [E.entityType.rawValue]).map { try Self.decode(E.self, $0) }
            }
            let sql = """
                SELECT data FROM (
                    SELECT e.id, CASE WHEN p.type IS NULL THEN e.data ELSE p.data END AS data
                    FROM entities e LEFT JOIN pending_entities p ON p.type = e.type AND p.id = e.id
                    WHERE e.type = ?1 AND e.scope = ?2
                    UNION ALL
                    SELECT p.id, p.data FROM pending_entities p
                    WHERE p.type = ?1 AND p.scope = ?2
                      AND NOT EXISTS (SELECT 1 FROM entities e WHERE e.scope = p.scope AND e.type = p.type AND e.id = p.id)
                ) WHERE data IS NOT NULL ORDER BY id
                """
            return try String.fetchAll(db, sql: sql, arguments: [E.entityType.rawValue, scope.rawValue]).map { try Self.decode(E.self, $0) }
        }
    }

    /// How many entities of a type are visible.
    public func count(_ type: EntityType) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM visible_entities WHERE type = ?", arguments: [type.rawValue]) ?? 0
        }
    }

    /// How far each scope has been pulled: what the next pull sends.
    public func cursors() throws -> [Scope: Int] {
        try writer.read { db in
            var cursors: [Scope: Int] = [:]
            for record in try CursorRecord.fetchAll(db) {
                if let scope = Scope(record.scope) { cursors[scope] = record.seq }
            }
            return cursors
        }
    }

    /// The epochs of the re-downloads the server started with a reset, per scope: what the next pull sends back.
    public func epochs() throws -> [Scope: String] {
        try writer.read { db in
            var epochs: [Scope: String] = [:]
            for record in try CursorRecord.fetchAll(db) {
                if let scope = Scope(record.scope), let epoch = record.epoch { epochs[scope] = epoch }
            }
            return epochs
        }
    }

    /// The next pull: this replica's client id, cursors and reset epochs, read together.
    public func pullRequest(limit: Int) throws -> PullRequest {
        try writer.read { db in
            var cursors: [Scope: Int] = [:]
            var epochs: [Scope: String] = [:]
            for record in try CursorRecord.fetchAll(db) {
                guard let scope = Scope(record.scope) else { continue }
                cursors[scope] = record.seq
                if let epoch = record.epoch { epochs[scope] = epoch }
            }
            return PullRequest(clientID: try MetaRecord.clientID(db), cursors: cursors, epochs: epochs, limit: limit)
        }
    }

    /// The highest mutation id the server has processed for this client.
    public func lastConfirmedMutationID() throws -> Int {
        try writer.read { db in try self.lastConfirmedMutationID(db) }
    }

    /// JSON of the visible entities of a searchable `type` whose search text contains every term, ordered by id.
    public func search(_ type: EntityType, terms: [String], limit: Int = .max) throws -> [String] {
        try writer.read { db in try Self.search(type, terms: terms, limit: limit, db) }
    }

    /// JSON of the visible entities of `type`, ordered by `orderBy` (an SQL expression over `data`, newest first when
    /// `descending`), then id.
    public func entitiesJSON(_ type: EntityType, orderedByJSONField field: String, descending: Bool) throws -> [String] {
        try writer.read { db in
            let direction = descending ? "DESC" : "ASC"
            return try String.fetchAll(
                db,
                sql: "SELECT data FROM visible_entities WHERE type = ? ORDER BY json_extract(data, ?) \(direction), id \(direction)",
                arguments: [type.rawValue, "$." + field]
            )
        }
    }

    private static func search(_ type: EntityType, terms: [String], limit: Int, _ db: Database) throws -> [String] {
        var sql = "SELECT data FROM visible_entities WHERE type = ?"
        var arguments: StatementArguments = [type.rawValue]
        for term in terms {
            sql += " AND search_text LIKE ? ESCAPE '\\'"
            arguments += [likePattern(term)]
        }
        sql += " ORDER BY id LIMIT ?"
        arguments += [limit == .max ? -1 : limit]
        return try String.fetchAll(db, sql: sql, arguments: arguments)
    }

    /// `%term%` with LIKE's wildcards escaped, so a query for `10%` means the characters.
    private static func likePattern(_ term: String) -> String {
        var escaped = ""
        for character in term {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return "%" + escaped + "%"
    }

    /// Decodes an entity's JSON as the replica stores it.
    public static func decode<E: Decodable>(_ type: E.Type, _ json: String) throws -> E {
        try SyncJSON.decoder.decode(E.self, from: Data(json.utf8))
    }

    static func decode<E: Decodable>(_ type: E.Type, _ json: [UInt8]) throws -> E {
        try SyncJSON.decoder.decode(E.self, from: Data(json))
    }
}
