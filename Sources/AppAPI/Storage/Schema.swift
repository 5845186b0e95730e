/// The schema, as ordered migrations. Each capability adds its own migrations at the end; never edit one
/// that has shipped.
enum Schema {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "sync change log") { _ in
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
        },
        Migration(version: 2, name: "catalog") { _ in
            [
                "CREATE TABLE departments (id TEXT PRIMARY KEY, name TEXT NOT NULL, data TEXT NOT NULL)",
                """
                CREATE TABLE matters (
                    code TEXT PRIMARY KEY, name TEXT NOT NULL, department_id TEXT NOT NULL, domain TEXT NOT NULL,
                    id_card_only BIGINT NOT NULL, fully_online BIGINT NOT NULL, onsite_visits BIGINT NOT NULL,
                    search_text TEXT NOT NULL, data TEXT NOT NULL)
                """,
                "CREATE INDEX matters_department ON matters (department_id, code)",
                "CREATE INDEX matters_domain ON matters (domain, code)",
                "CREATE TABLE bundles (code TEXT PRIMARY KEY, data TEXT NOT NULL)",
                "CREATE TABLE fee_items (code TEXT PRIMARY KEY, category TEXT NOT NULL, data TEXT NOT NULL)",
                "CREATE TABLE service_centers (id TEXT PRIMARY KEY, level TEXT NOT NULL, data TEXT NOT NULL)",
                "CREATE TABLE faq_entries (id TEXT PRIMARY KEY, search_text TEXT NOT NULL, data TEXT NOT NULL)",
                "CREATE TABLE license_types (code TEXT PRIMARY KEY, data TEXT NOT NULL)",
                "CREATE TABLE holidays (day TEXT PRIMARY KEY, kind TEXT NOT NULL)",
                // Which seed sets have been loaded, so a restart never loads them twice.
                "CREATE TABLE seed_runs (name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            ]
        },
        Migration(version: 3, name: "identity") { _ in
            [
                """
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY, kind TEXT NOT NULL, id_number TEXT UNIQUE, credit_code TEXT UNIQUE, username TEXT UNIQUE,
                    name TEXT NOT NULL, phone TEXT, password_hash TEXT NOT NULL, department_id TEXT, center_id TEXT,
                    created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE devices (
                    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts (id), name TEXT NOT NULL, platform TEXT NOT NULL,
                    public_jwk TEXT, created_at BIGINT NOT NULL, last_seen_at BIGINT, revoked_at BIGINT)
                """,
                "CREATE INDEX devices_account ON devices (account_id)",
                // Only hashes of refresh tokens are stored; a device is one token family.
                """
                CREATE TABLE refresh_tokens (
                    token_hash TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices (id), expires_at BIGINT NOT NULL,
                    used_at BIGINT, created_at BIGINT NOT NULL)
                """,
                "CREATE INDEX refresh_tokens_device ON refresh_tokens (device_id)",
                """
                CREATE TABLE signing_keys (
                    kid TEXT PRIMARY KEY, purpose TEXT NOT NULL, private_pem TEXT NOT NULL, public_jwk TEXT NOT NULL,
                    created_at BIGINT NOT NULL, retired_at BIGINT)
                """,
                "CREATE TABLE login_throttle (key TEXT PRIMARY KEY, failures BIGINT NOT NULL, window_start BIGINT NOT NULL, locked_until BIGINT NOT NULL)",
            ]
        },
        Migration(version: 4, name: "sync clients and tombstone horizon") { _ in
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
        },
    ]
}
