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
        Migration(version: 5, name: "blobs and idempotency keys") { engine in
            [
                // Material files, content-addressed; the bytes live in the database so every instance serves them.
                """
                CREATE TABLE blobs (
                    sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, content_type TEXT NOT NULL,
                    bytes \(engine == .postgres ? "BYTEA" : "BLOB") NOT NULL, created_at BIGINT NOT NULL)
                """,
                "CREATE TABLE blob_owners (sha256 TEXT NOT NULL, account_id TEXT NOT NULL, PRIMARY KEY (sha256, account_id))",
                // Same key + same body → same answer; a key is scoped to the account that used it.
                """
                CREATE TABLE idempotency_keys (
                    account_id TEXT NOT NULL, key TEXT NOT NULL, operation TEXT NOT NULL, request_hash TEXT NOT NULL,
                    status BIGINT, response TEXT, created_at BIGINT NOT NULL, PRIMARY KEY (account_id, key))
                """,
            ]
        },
        Migration(version: 6, name: "cases") { _ in
            [
                // The case itself lives in the change log (user and department scopes); this index serves the
                // workbench filters, deadlines and statistics.
                """
                CREATE TABLE case_index (
                    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, department_id TEXT NOT NULL, matter_code TEXT NOT NULL,
                    state TEXT NOT NULL, deadline TEXT, pending_due TEXT, submitted_at BIGINT, accepted_at BIGINT, decided_at BIGINT,
                    completed_at BIGINT, visits BIGINT NOT NULL, promised_visits BIGINT NOT NULL, rating BIGINT,
                    bundle_submission_id TEXT, updated_at BIGINT NOT NULL)
                """,
                "CREATE INDEX case_index_department ON case_index (department_id, state)",
                "CREATE INDEX case_index_account ON case_index (account_id, updated_at)",
                // 整改: a 不满意/非常不满意 rating opens a task for the department, due in 15 working days.
                """
                CREATE TABLE rectification_tasks (
                    id TEXT PRIMARY KEY, case_id TEXT NOT NULL, department_id TEXT NOT NULL, rating BIGINT NOT NULL,
                    comment TEXT, due TEXT NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL)
                """,
            ]
        },
        Migration(version: 7, name: "sync resets in progress") { _ in
            ["CREATE TABLE sync_resets (client_id TEXT NOT NULL, scope TEXT NOT NULL, PRIMARY KEY (client_id, scope))"]
        },
        Migration(version: 8, name: "appointments and queue tickets") { _ in
            [
                // Server-side state, never in the change log: generated per centre and day from its opening hours the
                // first time the day is asked for. `bookings` is the JSON list of holders; `booked` is its length.
                """
                CREATE TABLE appointment_slots (
                    id TEXT PRIMARY KEY, center_id TEXT NOT NULL, day TEXT NOT NULL, start_time TEXT NOT NULL, end_time TEXT NOT NULL,
                    capacity BIGINT NOT NULL, booked BIGINT NOT NULL, bookings TEXT NOT NULL)
                """,
                "CREATE INDEX appointment_slots_day ON appointment_slots (center_id, day, start_time)",
                // One row per centre and day: bumping it numbers the day's tickets and serialises their issue.
                "CREATE TABLE queue_counters (center_id TEXT NOT NULL, day TEXT NOT NULL, last_number BIGINT NOT NULL, PRIMARY KEY (center_id, day))",
                """
                CREATE TABLE queue_tickets (
                    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, center_id TEXT NOT NULL, day TEXT NOT NULL, seq BIGINT NOT NULL,
                    number TEXT NOT NULL, matter_code TEXT, status TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                "CREATE UNIQUE INDEX queue_tickets_queue ON queue_tickets (center_id, day, seq)",
                "CREATE INDEX queue_tickets_account ON queue_tickets (account_id, center_id, day)",
            ]
        },
    ]
}
