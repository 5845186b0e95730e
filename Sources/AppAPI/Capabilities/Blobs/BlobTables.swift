/// Material files. The same shipped step also created `idempotency_keys`, which the HTTP platform's
/// `IdempotencyStore` owns.
enum BlobTables {
    static let blobs = Migration(version: 5, name: "blobs and idempotency keys") { engine in
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
    }
}
