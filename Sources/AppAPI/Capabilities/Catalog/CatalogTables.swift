/// The catalog's tables (and `holidays`, which the working calendar reads).
enum CatalogTables {
    static let catalog = Migration(version: 2, name: "catalog") { _ in
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
    }
}
