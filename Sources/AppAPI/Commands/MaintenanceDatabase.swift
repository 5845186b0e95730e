import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Opens and migrates the configured database for a maintenance command, runs `body`, and closes it whatever happens.
/// On SQLite it refuses while a server runs on the same file (the server's view of the change log would go stale).
func withMigratedDatabase<T>(_ config: AppConfig, _ body: (any Database, Logger) async throws -> T) async throws -> T {
    restrictFileCreation()
    let logger = makeLogger(level: config.logLevel)
    let database = try await openDatabase(config.database, role: .maintenance, logger: logger)
    do {
        try await Migrator.migrate(database, migrations: AppMigrations.all, logger: logger)
        let result = try await body(database, logger)
        await database.shutdown()
        return result
    } catch {
        await database.shutdown()
        throw error
    }
}

/// Files the server creates (the database, its WAL and SHM, the lock, anything a driver writes) are the server user's
/// alone: they hold signing keys and password hashes.
func restrictFileCreation() {
    umask(0o077)
}
