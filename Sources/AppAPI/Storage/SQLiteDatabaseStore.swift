import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization

/// The embedded default: one SQLite file in WAL mode with one writer connection (writes are serialised here,
/// which is also what SQLite does) and a few reader connections that never block on the writer.
final class SQLiteDatabaseStore: Database {
    let engine = DatabaseEngine.sqlite
    let notifier = ChangeNotifier(headsAreLocal: true)
    private let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    private let writeLock = AsyncMutex()
    private let nextReader = AtomicCounter()
    private let logger: Logger
    private let closed = Mutex(false)

    private init(writer: SQLiteConnection, readers: [SQLiteConnection], logger: Logger) {
        self.writer = writer
        self.readers = readers
        self.logger = logger
    }

    static func open(path: String, readers readerCount: Int = 4, logger: Logger) async throws -> SQLiteDatabaseStore {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        // WAL lets readers proceed while the writer commits; the busy timeout covers other processes (backup, CLI).
        for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA busy_timeout = 5000", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON"] {
            _ = try await writer.query(pragma)
        }
        var readers: [SQLiteConnection] = []
        for _ in 0..<readerCount {
            let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            _ = try await reader.query("PRAGMA busy_timeout = 5000")
            readers.append(reader)
        }
        return SQLiteDatabaseStore(writer: writer, readers: readers, logger: logger)
    }

    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let index = nextReader.next() % readers.count
        return try await body(readers[index].sql(queryLogLevel: .trace))
    }

    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let heads = CommitHeads()
        return try await writeLock.withLock {
            let db = writer.sql(queryLogLevel: .trace)
            try await db.raw("BEGIN IMMEDIATE").run()
            do {
                let result = try await CommitHeads.$current.withValue(heads) { try await body(db) }
                try await db.raw("COMMIT").run()
                notifier.publish(heads.all)
                return result
            } catch {
                do { try await db.raw("ROLLBACK").run() } catch { logger.error("rollback failed", metadata: ["error": "\(error)"]) }
                throw error
            }
        }
    }

    /// Closes every connection; later calls do nothing. Runs even when the calling task is cancelled (a service
    /// group cancels its services on shutdown), because an unclosed connection loses the WAL checkpoint.
    func shutdown() async {
        guard !closed.withLock({ wasClosed in defer { wasClosed = true }; return wasClosed }) else { return }
        let connections = readers + [writer]
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
    }
}
