import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The embedded default: one SQLite file in WAL mode with one writer connection (writes are serialised here,
/// which is also what SQLite does) and a few reader connections that never block on the writer.
///
/// The server holds an exclusive lock on `<file>.lock` while it runs, and maintenance commands refuse to open a
/// file a server holds: the server's in-memory view of the change log (its head cache) is exact only while it is
/// the only writer.
final class SQLiteDatabaseStore: Database {
    let engine = DatabaseEngine.sqlite
    private let writer: SQLiteConnection
    private let readers: [(connection: SQLiteConnection, lock: AsyncMutex)]
    private let writeLock = AsyncMutex()
    private let nextReader = AtomicCounter()
    private let logger: Logger
    private let closed = Mutex(false)
    private let observers = CommitObservers()
    private let fileLock: FileLock

    private init(writer: SQLiteConnection, readers: [SQLiteConnection], fileLock: FileLock, logger: Logger) {
        self.writer = writer
        self.readers = readers.map { ($0, AsyncMutex()) }
        self.fileLock = fileLock
        self.logger = logger
    }

    static func open(path: String, role: DatabaseRole, readers readerCount: Int = 4, logger: Logger) async throws -> SQLiteDatabaseStore {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            // The data directory holds keys and password hashes: private to the server's user.
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let fileLock = try FileLock.acquire(path + ".lock", role: role)
        // Created 0600 before SQLite opens it, whatever the umask: SQLite gives the WAL and SHM files the database's mode.
        let created = Glibc.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        if created >= 0 { Glibc.close(created) }
        let driver = driverLogger(logger)
        do {
            let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: driver)
            // WAL lets readers proceed while the writer commits; the busy timeout covers other processes (backup).
            // NORMAL in WAL mode: a commit survives the process being killed; only an OS crash or power cut may lose
            // the last commits (FULL would fsync every commit).
            for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA busy_timeout = 5000", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON"] {
                _ = try await writer.query(pragma)
            }
            Self.restrictPermissions(path)
            var readers: [SQLiteConnection] = []
            for _ in 0..<readerCount {
                let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: driver)
                _ = try await reader.query("PRAGMA busy_timeout = 5000")
                readers.append(reader)
            }
            return SQLiteDatabaseStore(writer: writer, readers: readers, fileLock: fileLock, logger: logger)
        } catch {
            fileLock.release()
            throw error
        }
    }

    /// The database, its WAL and shared-memory files are readable by the server's user only.
    private static func restrictPermissions(_ path: String) {
        for file in [path, path + "-wal", path + "-shm", path + ".lock"] where FileManager.default.fileExists(atPath: file) {
            try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        }
    }

    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let reader = readers[nextReader.next() % readers.count]
        return try await reader.lock.withLock { try await body(reader.connection.sql()) }
    }

    func snapshot<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let reader = readers[nextReader.next() % readers.count]
        return try await reader.lock.withLock {
            let db = reader.connection.sql()
            // A read transaction in WAL mode sees one snapshot from its first read to its end.
            return try await db.withReadTransaction(begin: "BEGIN") { try await body(db) }
        }
    }

    @discardableResult
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let (result, notes) = try await writeLock.withLock { () -> (T, [any Sendable]) in
            let db = writer.sql()
            try await db.raw("BEGIN IMMEDIATE").run()
            do {
                let outcome = try await observers.collect(on: db, engine: engine) { try await body(db) }
                try await db.raw("COMMIT").run()
                return outcome
            } catch {
                do { try await db.raw("ROLLBACK").run() } catch { logger.error("rollback failed", metadata: ["error": "\(error)"]) }
                throw error
            }
        }
        observers.announce(notes)
        return result
    }

    func addCommitObserver(_ observer: any CommitObserver) { observers.add(observer) }

    /// Closes every connection and releases the server lock; later calls do nothing. Runs even when the calling task
    /// is cancelled (a service group cancels its services on shutdown), because an unclosed connection loses the
    /// WAL checkpoint.
    func shutdown() async {
        guard
            !closed.withLock({ wasClosed in
                defer { wasClosed = true }
                return wasClosed
            })
        else { return }
        let connections = readers.map(\.connection) + [writer]
        let logger = logger
        await Task {
            for connection in connections {
                do {
                    try await connection.close()
                } catch {
                    logger.error("closing SQLite failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
        }.value
        fileLock.release()
    }
}

/// An advisory `flock` on a file beside the database: a server holds it exclusively while it runs; a maintenance
/// command takes it for its run, so it never writes behind a running server's back.
final class FileLock: Sendable {
    private let descriptor: Int32
    private let released = Mutex(false)

    private init(descriptor: Int32) { self.descriptor = descriptor }

    static func acquire(_ path: String, role: DatabaseRole) throws -> FileLock {
        let descriptor = Glibc.open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ConfigurationError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(descriptor)
            switch role {
            case .server:
                throw ConfigurationError(
                    "another appapi server is using \((path as NSString).deletingPathExtension); stop it or choose another --data-dir")
            case .maintenance:
                throw ConfigurationError(
                    "an appapi server is running on \((path as NSString).deletingPathExtension); stop it before running this command on the same file"
                )
            }
        }
        return FileLock(descriptor: descriptor)
    }

    func release() {
        guard
            !released.withLock({ was in
                defer { was = true }
                return was
            })
        else { return }
        flock(descriptor, LOCK_UN)
        Glibc.close(descriptor)
    }
}
