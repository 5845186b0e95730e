/// The case index and rectification tasks (the cases themselves live in the change log).
enum CaseTables {
    static let cases = Migration(version: 6, name: "cases") { _ in
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
    }
}

extension CaseTables {
    static let citations = Migration(version: 10, name: "case material citations") { engine in
        [
            // Which uploaded files each submitted case cites, so a clerk may download exactly the files of their
            // department's cases (and nothing else).
            """
            CREATE TABLE case_materials (
                case_id TEXT NOT NULL, sha256 TEXT NOT NULL, department_id TEXT NOT NULL, PRIMARY KEY (case_id, sha256))
            """,
            "CREATE INDEX case_materials_blob ON case_materials (sha256, department_id)",
            engine == .postgres
                ? """
                INSERT INTO case_materials (case_id, sha256, department_id)
                SELECT DISTINCT ci.id, m ->> 'blobSha256', ci.department_id FROM case_index ci
                JOIN changes c ON c.scope = 'user:' || ci.account_id AND c.entity_type = 'case' AND c.entity_id = ci.id AND c.op = 'upsert'
                CROSS JOIN LATERAL jsonb_array_elements((c.data)::jsonb -> 'materials') m
                WHERE ci.state <> 'draft' AND m ->> 'blobSha256' IS NOT NULL
                """
                : """
                INSERT OR IGNORE INTO case_materials (case_id, sha256, department_id)
                SELECT ci.id, json_extract(m.value, '$.blobSha256'), ci.department_id FROM case_index ci
                JOIN changes c ON c.scope = 'user:' || ci.account_id AND c.entity_type = 'case' AND c.entity_id = ci.id AND c.op = 'upsert',
                json_each(c.data, '$.materials') m
                WHERE ci.state <> 'draft' AND json_extract(m.value, '$.blobSha256') IS NOT NULL
                """,
        ]
    }
}
