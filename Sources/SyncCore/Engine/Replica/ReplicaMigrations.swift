import GRDB

extension Replica {
    /// The schema, one named migration per change (never edit a shipped migration: replicas live on phones).
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Server-confirmed state: exactly the bytes the server sent, newest version per entity.
            try db.execute(
                sql: """
                    CREATE TABLE entities (
                        scope TEXT NOT NULL,
                        type TEXT NOT NULL,
                        id TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        data TEXT NOT NULL,
                        search_text TEXT,
                        PRIMARY KEY (type, id)
                    );
                    CREATE INDEX entities_scope ON entities (scope);
                    -- The optimistic overlay: what pending mutations wrote; data NULL = deleted optimistically.
                    CREATE TABLE pending_entities (
                        type TEXT NOT NULL,
                        id TEXT NOT NULL,
                        scope TEXT NOT NULL,
                        data TEXT,
                        search_text TEXT,
                        PRIMARY KEY (type, id)
                    );
                    -- What the app reads: the overlay wins over confirmed state.
                    CREATE VIEW visible_entities AS
                        SELECT e.scope, e.type, e.id, e.data, e.search_text FROM entities e
                        WHERE NOT EXISTS (SELECT 1 FROM pending_entities p WHERE p.type = e.type AND p.id = e.id)
                        UNION ALL
                        SELECT scope, type, id, data, search_text FROM pending_entities WHERE data IS NOT NULL;
                    CREATE TABLE cursors (
                        scope TEXT PRIMARY KEY NOT NULL,
                        seq INTEGER NOT NULL
                    );
                    CREATE TABLE outbox (
                        id INTEGER PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        args BLOB NOT NULL,
                        hlc TEXT NOT NULL,
                        account_id TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('pending', 'rejected')),
                        code TEXT,
                        detail TEXT,
                        created_at INTEGER NOT NULL,
                        written_keys TEXT NOT NULL
                    );
                    CREATE TABLE meta (
                        key TEXT PRIMARY KEY NOT NULL,
                        value TEXT NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v2 outbox roles") { db in
            // The account kind a mutation was made as, so a rebase replays it with the same permissions.
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN role TEXT NOT NULL DEFAULT 'citizen'")
        }
        migrator.registerMigration("v3 entities per scope") { db in
            // An entity may live in two scopes (a case in `user:` and in `dept:`), each with its own seq and version:
            // one row per (scope, type, id), so a change, a tombstone or a reset in one scope leaves the other's copy.
            try db.execute(
                sql: """
                    DROP VIEW visible_entities;
                    CREATE TABLE entities_per_scope (
                        scope TEXT NOT NULL,
                        type TEXT NOT NULL,
                        id TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        data TEXT NOT NULL,
                        search_text TEXT,
                        PRIMARY KEY (scope, type, id)
                    );
                    INSERT INTO entities_per_scope (scope, type, id, version, seq, data, search_text)
                        SELECT scope, type, id, version, seq, data, search_text FROM entities;
                    DROP TABLE entities;
                    ALTER TABLE entities_per_scope RENAME TO entities;
                    CREATE INDEX entities_type_id ON entities (type, id);
                    -- What the app reads, one row per entity: the overlay wins over confirmed state, and of two confirmed
                    -- copies the account's own (`user:`) wins, then the first scope by name.
                    CREATE VIEW visible_entities AS
                        SELECT e.scope, e.type, e.id, e.data, e.search_text FROM entities e
                        WHERE NOT EXISTS (SELECT 1 FROM pending_entities p WHERE p.type = e.type AND p.id = e.id)
                          AND NOT EXISTS (
                            SELECT 1 FROM entities o
                            WHERE o.type = e.type AND o.id = e.id AND o.scope <> e.scope
                              AND ((substr(o.scope, 1, 5) = 'user:') > (substr(e.scope, 1, 5) = 'user:')
                                OR ((substr(o.scope, 1, 5) = 'user:') = (substr(e.scope, 1, 5) = 'user:') AND o.scope < e.scope)))
                        UNION ALL
                        SELECT scope, type, id, data, search_text FROM pending_entities WHERE data IS NOT NULL;
                    """
            )
        }
        migrator.registerMigration("v4 cursor epochs") { db in
            // The epoch of a re-download the server started with a reset: sent back with every pull, so a lost reset
            // answer is answered with a reset again instead of a page that skips purged tombstones.
            try db.execute(sql: "ALTER TABLE cursors ADD COLUMN epoch TEXT")
        }
        migrator.registerMigration("v5 outbox verdicts") { db in
            // The server's verdict on each mutation, apart from the status the app sees: a status may be a local
            // prediction (a rebase's rejection), a verdict never is. Unanswered mutations are sent until answered.
            try db.execute(
                sql: """
                    ALTER TABLE outbox ADD COLUMN verdict TEXT CHECK (verdict IN ('applied', 'rejected'));
                    ALTER TABLE outbox ADD COLUMN errors TEXT;
                    ALTER TABLE outbox ADD COLUMN alternatives TEXT;
                    UPDATE outbox SET verdict = CASE status WHEN 'rejected' THEN 'rejected' ELSE 'applied' END
                    WHERE id <= COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'lastConfirmedMutationId'), 0);
                    """
            )
        }
        return migrator
    }
}
