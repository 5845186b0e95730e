/// The wallet's tables: issuer keys (one active per department), licenses and their copies' status-list entries,
/// the status lists, verifier nonces, the holders' access log, and OpenID4VCI's codes and tokens.
enum WalletTables {
    static let wallet = Migration(version: 12, name: "wallet") { _ in
        [
            """
            CREATE TABLE issuer_keys (
                kid TEXT PRIMARY KEY, department_id TEXT NOT NULL, private_pem TEXT NOT NULL, public_jwk TEXT NOT NULL,
                created_at BIGINT NOT NULL, retired_at BIGINT)
            """,
            // At most one signing key per department: a second instance generating one at the same time fails here.
            "CREATE UNIQUE INDEX issuer_keys_active ON issuer_keys (department_id) WHERE retired_at IS NULL",
            """
            CREATE TABLE status_lists (
                id TEXT PRIMARY KEY, department_id TEXT NOT NULL, capacity BIGINT NOT NULL, used BIGINT NOT NULL,
                token TEXT, kid TEXT, issued_at BIGINT)
            """,
            "CREATE INDEX status_lists_department ON status_lists (department_id)",
            """
            CREATE TABLE licenses (
                id TEXT PRIMARY KEY, account_id TEXT NOT NULL, type TEXT NOT NULL, department_id TEXT NOT NULL, case_id TEXT,
                state TEXT NOT NULL, superseded_by TEXT, issued_at BIGINT NOT NULL, expires_at BIGINT)
            """,
            "CREATE INDEX licenses_holder ON licenses (account_id, type)",
            // One license per case: an approval seen twice never issues twice.
            "CREATE UNIQUE INDEX licenses_case ON licenses (case_id)",
            // Each copy of a license has its own random entry in one of its issuer's lists.
            """
            CREATE TABLE license_copies (
                list_id TEXT NOT NULL, idx BIGINT NOT NULL, license_id TEXT NOT NULL, copy BIGINT NOT NULL, status BIGINT NOT NULL,
                PRIMARY KEY (list_id, idx))
            """,
            "CREATE INDEX license_copies_license ON license_copies (license_id)",
            "CREATE INDEX license_copies_status ON license_copies (list_id, status)",
            """
            CREATE TABLE presentation_nonces (
                nonce TEXT PRIMARY KEY, verifier_id TEXT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT)
            """,
            "CREATE INDEX presentation_nonces_expiry ON presentation_nonces (expires_at)",
            """
            CREATE TABLE wallet_access_log (
                id TEXT PRIMARY KEY, account_id TEXT NOT NULL, license_id TEXT NOT NULL, action TEXT NOT NULL, party TEXT NOT NULL,
                fields TEXT NOT NULL, case_id TEXT, at BIGINT NOT NULL)
            """,
            "CREATE INDEX wallet_access_holder ON wallet_access_log (account_id, at)",
            // OpenID4VCI: pre-authorized codes and the access tokens they become, both single use, stored as hashes.
            """
            CREATE TABLE credential_offers (
                code_hash TEXT PRIMARY KEY, license_id TEXT NOT NULL, account_id TEXT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT)
            """,
            """
            CREATE TABLE credential_tokens (
                token_hash TEXT PRIMARY KEY, license_id TEXT NOT NULL, account_id TEXT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT)
            """,
        ]
    }
}
