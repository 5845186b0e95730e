import Logging
import SQLKit
import Synchronization

/// The storage engines OneTrip runs on; SQL is written once and engine differences live in `Platform/Storage/`.
enum DatabaseEngine: String, Sendable {
    case sqlite, postgres
}

/// The server's database: reads run concurrently, writes run in a transaction (`BEGIN IMMEDIATE` on SQLite,
/// so the single writer is taken up front and a transaction never fails half-way on a lock upgrade).
///
/// Storage knows nothing of what is stored. A transaction may leave notes (`TransactionNotes.record`); observers
/// registered with `addCommitObserver` see them just before the commit (inside the transaction, e.g. to NOTIFY
/// other instances transactionally) and after it (e.g. to poke event streams).
protocol Database: Sendable {
    var engine: DatabaseEngine { get }
    /// Runs `body` on a connection outside any transaction (each statement sees the latest commit).
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in one read-only snapshot: every statement sees the same committed state.
    func snapshot<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws. On PostgreSQL a
    /// deadlock or serialization failure rolls back and runs `body` again (a few times), so `body` must not have
    /// effects outside the database it depends on.
    @discardableResult
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    /// Registers an observer of committed transactions' notes (see the protocol's comment).
    func addCommitObserver(_ observer: any CommitObserver)
    /// Closes every connection.
    func shutdown() async
}

/// Sees the notes of each transaction that is about to commit, or did.
protocol CommitObserver: Sendable {
    /// Inside the transaction, after its body: may run statements that must commit with it.
    func willCommit(_ notes: [any Sendable], on db: any SQLDatabase, engine: DatabaseEngine) async throws
    /// After the commit succeeded.
    func didCommit(_ notes: [any Sendable])
}

/// Notes a transaction leaves for the commit observers (what moved, what to announce).
final class TransactionNotes: Sendable {
    private let notes = Mutex<[any Sendable]>([])

    /// Adds a note to the transaction in progress; does nothing outside a transaction.
    static func record(_ note: any Sendable) { current?.notes.withLock { $0.append(note) } }

    var all: [any Sendable] { notes.withLock { $0 } }

    @TaskLocal static var current: TransactionNotes?
}

/// The commit observers of one database.
final class CommitObservers: Sendable {
    private let observers = Mutex<[any CommitObserver]>([])

    func add(_ observer: any CommitObserver) { observers.withLock { $0.append(observer) } }

    /// Runs `body` with a fresh notes collector and the will-commit observers after it; returns the notes to announce.
    func collect<T: Sendable>(on db: any SQLDatabase, engine: DatabaseEngine, _ body: () async throws -> T) async throws -> (T, [any Sendable]) {
        let notes = TransactionNotes()
        let result = try await TransactionNotes.$current.withValue(notes) { try await body() }
        let all = notes.all
        if !all.isEmpty {
            for observer in observers.withLock({ $0 }) { try await observer.willCommit(all, on: db, engine: engine) }
        }
        return (result, all)
    }

    func announce(_ notes: [any Sendable]) {
        guard !notes.isEmpty else { return }
        for observer in observers.withLock({ $0 }) { observer.didCommit(notes) }
    }
}

extension SQLDatabase {
    /// ` FOR UPDATE` on PostgreSQL, where a read-modify-write must lock the rows it reads before deciding; nothing
    /// on SQLite, whose single writer holds the whole database for the transaction.
    var forUpdate: String { dialect.name == "postgresql" ? " FOR UPDATE" : "" }

    /// Runs `body` between `begin` (a read transaction's opening statement) and `COMMIT`, rolling back when it throws.
    func withReadTransaction<T>(begin: String, _ body: () async throws -> T) async throws -> T {
        try await raw("\(unsafeRaw: begin)").run()
        do {
            let result = try await body()
            try await raw("COMMIT").run()
            return result
        } catch {
            try? await raw("ROLLBACK").run()
            throw error
        }
    }

    /// Runs `body` inside a savepoint of the current transaction: if it throws, only its own statements roll back
    /// (on PostgreSQL this also clears the aborted state a failed statement leaves), and the error is rethrown.
    func withSavepoint<T>(_ name: String = "step", _ body: () async throws -> T) async throws -> T {
        try await raw("SAVEPOINT \(unsafeRaw: name)").run()
        do {
            let result = try await body()
            try await raw("RELEASE SAVEPOINT \(unsafeRaw: name)").run()
            return result
        } catch {
            try await raw("ROLLBACK TO SAVEPOINT \(unsafeRaw: name)").run()
            try await raw("RELEASE SAVEPOINT \(unsafeRaw: name)").run()
            throw error
        }
    }
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

/// How the server uses a database it opens.
enum DatabaseRole: Sendable {
    /// The long-running server: on SQLite it holds the file's server lock, so no other process writes behind it.
    case server
    /// A maintenance command (`appapi seed`, `appapi keys rotate`): refused while a server holds the SQLite file.
    case maintenance
}

/// Opens the database a location names.
func openDatabase(_ location: DatabaseLocation, role: DatabaseRole = .server, logger: Logger) async throws -> any Database {
    switch location {
    case .sqlite(let path): try await SQLiteDatabaseStore.open(path: path, role: role, logger: logger)
    case .postgres(let url): try await PostgresDatabaseStore.open(url, logger: logger)
    }
}

/// A configuration value that cannot be used; reported to the operator before the server starts.
struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The logger database drivers get: never below `info`, because drivers log statements with their bind values at
/// `debug` and `trace`, and those hold password hashes, key material and ID numbers.
func driverLogger(_ logger: Logger) -> Logger {
    var driver = logger
    if driver.logLevel < .info { driver.logLevel = .info }
    return driver
}
