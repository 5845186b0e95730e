/// Accounts, devices, refresh tokens, signing keys and login throttling.
enum IdentityTables {
    static let identity = Migration(version: 3, name: "identity") { _ in
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
    }

    /// Login and registration limits reserve an attempt before evaluating it: `attempts` counts those in flight and the
    /// failures of the window, `failures` the failures alone (which lock the key).
    static let attempts = Migration(version: 11, name: "identity attempt reservations") { _ in
        [
            "ALTER TABLE login_throttle ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0",
            "UPDATE login_throttle SET attempts = failures",
        ]
    }
}
