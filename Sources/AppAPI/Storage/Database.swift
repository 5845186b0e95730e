import Logging
import SQLKit

/// The storage engines OneTrip runs on; SQL is written once and engine differences live in `Storage/`.
enum DatabaseEngine: String, Sendable {
    case sqlite, postgres
}

/// The server's database: reads run concurrently, writes run in a transaction (`BEGIN IMMEDIATE` on SQLite,
/// so the single writer is taken up front and a transaction never fails half-way on a lock upgrade).
protocol Database: Sendable {
    var engine: DatabaseEngine { get }
    /// Pokes listeners after commits that moved scope heads.
    var notifier: ChangeNotifier { get }
    /// Runs `body` on a connection outside any transaction (reads).
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Closes every connection.
    func shutdown() async
}

/// Where the database lives, parsed from `--database-url` / `DATABASE_URL`.
enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresURL)

    /// Parses `sqlite:PATH`, `sqlite://PATH`, a bare file path, or `postgres://` / `postgresql://` URLs.
    init(_ raw: String) throws {
        if raw.hasPrefix("postgres://") || raw.hasPrefix("postgresql://") {
            self = .postgres(try PostgresURL(raw))
        } else if raw.hasPrefix("sqlite://") {
            self = .sqlite(path: String(raw.dropFirst("sqlite://".count)))
        } else if raw.hasPrefix("sqlite:") {
            self = .sqlite(path: String(raw.dropFirst("sqlite:".count)))
        } else if raw.contains("://") {
            throw ConfigurationError("unsupported database URL scheme in \(PostgresURL.redacted(raw)); use a file path, sqlite:PATH or postgres://")
        } else {
            self = .sqlite(path: raw)
        }
    }

    /// Never includes a password: safe to log.
    var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let url): url.description
        }
    }
}

/// Opens the database a location names.
func openDatabase(_ location: DatabaseLocation, logger: Logger) async throws -> any Database {
    switch location {
    case .sqlite(let path): try await SQLiteDatabaseStore.open(path: path, logger: logger)
    case .postgres(let url): try await PostgresDatabaseStore.open(url, logger: logger)
    }
}

/// Opens and migrates the configured database for a maintenance command, runs `body`, and closes it whatever happens.
func withMigratedDatabase<T>(_ config: AppConfig, _ body: (any Database, Logger) async throws -> T) async throws -> T {
    let logger = makeLogger(level: config.logLevel)
    let database = try await openDatabase(config.database, logger: logger)
    do {
        try await Migrator.migrate(database, logger: logger)
        let result = try await body(database, logger)
        await database.shutdown()
        return result
    } catch {
        await database.shutdown()
        throw error
    }
}

/// A configuration value that cannot be used; reported to the operator before the server starts.
struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
