/// The sync engine's tables: the change log, scope heads, sync clients and reset bookkeeping.
enum ChangeLogTables {
    static let changeLog = Migration(version: 1, name: "sync change log") { _ in
        [
            // One row per scope; its `seq` is bumped under a row lock inside every writing transaction.
            "CREATE TABLE scope_heads (scope TEXT PRIMARY KEY, seq BIGINT NOT NULL)",
            // One row per entity holding its latest version: compacted by construction.
            """
            CREATE TABLE changes (
                scope TEXT NOT NULL, entity_type TEXT NOT NULL, entity_id TEXT NOT NULL,
                seq BIGINT NOT NULL, op TEXT NOT NULL, version BIGINT NOT NULL, data TEXT,
                changed_at BIGINT NOT NULL,
                PRIMARY KEY (scope, entity_type, entity_id))
            """,
            "CREATE UNIQUE INDEX changes_scope_seq ON changes (scope, seq)",
        ]
    }

    static let syncClients = Migration(version: 4, name: "sync clients and tombstone horizon") { _ in
        [
            // Each replica's exactly-once record: mutations up to last_mutation_id are processed.
            """
            CREATE TABLE sync_clients (
                client_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, device_id TEXT NOT NULL,
                last_mutation_id BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            // Tombstones up to purged_seq were compacted away: a cursor below it must re-download the scope.
            "ALTER TABLE scope_heads ADD COLUMN purged_seq BIGINT NOT NULL DEFAULT 0",
            "CREATE INDEX changes_tombstones ON changes (op, changed_at)",
        ]
    }

    static let syncResets = Migration(version: 7, name: "sync resets in progress") { _ in
        ["CREATE TABLE sync_resets (client_id TEXT NOT NULL, scope TEXT NOT NULL, PRIMARY KEY (client_id, scope))"]
    }
}

extension ChangeLogTables {
    static let hardening = Migration(version: 9, name: "sync verdicts, reset epochs and id claims") { _ in
        [
            // Each processed mutation's verdict and a digest of its name and args, kept for a retention window:
            // a retry gets the original verdict, the same id with other content is refused.
            """
            CREATE TABLE sync_verdicts (
                client_id TEXT NOT NULL, mutation_id BIGINT NOT NULL, digest TEXT NOT NULL, result TEXT NOT NULL,
                created_at BIGINT NOT NULL, PRIMARY KEY (client_id, mutation_id))
            """,
            "CREATE INDEX sync_verdicts_age ON sync_verdicts (created_at)",
            // The epoch handed out with a reset; a client paging through the re-download echoes it.
            "ALTER TABLE sync_resets ADD COLUMN epoch TEXT NOT NULL DEFAULT ''",
            "CREATE INDEX sync_clients_account ON sync_clients (account_id)",
            // Ids of user-scope entities chosen by devices (appointments, …): one owner each, so an id another
            // account holds is refused instead of shadowed.
            """
            CREATE TABLE entity_claims (
                entity_type TEXT NOT NULL, entity_id TEXT NOT NULL, scope TEXT NOT NULL, PRIMARY KEY (entity_type, entity_id))
            """,
            """
            INSERT INTO entity_claims (entity_type, entity_id, scope)
            SELECT entity_type, entity_id, MIN(scope) FROM changes WHERE scope LIKE 'user:%' GROUP BY entity_type, entity_id
            """,
        ]
    }
}
