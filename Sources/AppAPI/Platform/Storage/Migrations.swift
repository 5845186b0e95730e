import Foundation
import Logging
import SQLKit

/// One step of the schema. Steps are ordered by `version`, applied once, and recorded in `schema_migrations`.
struct Migration: Sendable {
    let version: Int
    let name: String
    /// DDL statements; they must run on both engines (engine differences go through `DatabaseEngine`).
    let statements: @Sendable (DatabaseEngine) -> [String]
}

enum Migrator {
    /// Applies every migration not yet recorded, in one transaction. On Postgres an advisory lock makes several
    /// instances starting at once take turns instead of racing to create the same tables.
    static func migrate(_ database: any Database, migrations: [Migration], logger: Logger) async throws {
        let engine = database.engine
        try await database.transaction { db in
            if engine == .postgres {
                try await db.raw("SELECT pg_advisory_xact_lock(\(literal: Self.advisoryLockKey))").run()
            }
            try await db.raw(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)
                """
            ).run()
            let applied = Set(try await db.raw("SELECT version FROM schema_migrations").all().map { try $0.decode(column: "version", as: Int.self) })
            for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
                for statement in migration.statements(engine) {
                    try await db.raw("\(unsafeRaw: statement)").run()
                }
                try await db.raw(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: Clock.nowMillis()))"
                ).run()
                logger.info("applied migration", metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
            }
        }
    }

    /// The newest applied version, or `nil` when the schema table is missing.
    static func currentVersion(_ database: any Database) async throws -> Int? {
        try await database.read { db in
            let row = try await db.raw("SELECT MAX(version) AS version FROM schema_migrations").first()
            return try row?.decode(column: "version", as: Int?.self)
        }
    }

    /// The newest version among `migrations`.
    static func latestVersion(of migrations: [Migration]) -> Int { migrations.map(\.version).max() ?? 0 }

    private static let advisoryLockKey = 0x0_7E1B_0001
}

/// The system wall clock; storage keeps times as integer milliseconds since 1970 (sortable, same on both engines).
/// Code whose decisions depend on time takes a `Runtime` instead, so tests can set the time.
enum Clock {
    static func nowMillis() -> Int { Int((Date().timeIntervalSince1970 * 1000).rounded()) }
}
