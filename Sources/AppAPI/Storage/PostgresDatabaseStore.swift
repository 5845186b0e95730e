import Foundation
import Logging
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization
import SyncCore

/// A `postgres://user:password@host:port/database` URL. Its description never shows the password.
struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String

    init(_ raw: String) throws {
        guard let components = URLComponents(string: raw), let host = components.host, !host.isEmpty else {
            throw ConfigurationError("malformed Postgres URL \(Self.redacted(raw))")
        }
        let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard sslmode == "disable" else {
            throw ConfigurationError("sslmode=\(sslmode) is not supported yet; connect over a private network or a local socket proxy")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.username : path
    }

    var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    /// `raw` with any password replaced, for error messages.
    static func redacted(_ raw: String) -> String {
        guard var components = URLComponents(string: raw) else { return "<unparseable URL>" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "<unparseable URL>"
    }
}

/// PostgreSQL for scale-out: a pooled client shared by any number of stateless `appapi` instances.
final class PostgresDatabaseStore: Database {
    let engine = DatabaseEngine.postgres
    let notifier = ChangeNotifier(headsAreLocal: false)
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let listenTask = Mutex<Task<Void, Never>?>(nil)
    private let logger: Logger

    private init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        self.runTask = Task { await client.run() }
    }

    static func open(_ url: PostgresURL, maxConnections: Int = 20, listen: Bool = true, logger: Logger) async throws -> PostgresDatabaseStore {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable
        )
        configuration.options.maximumConnections = maxConnections
        let store = PostgresDatabaseStore(client: PostgresClient(configuration: configuration, backgroundLogger: logger), logger: logger)
        do {
            // Fail fast with a clear message instead of on the first request.
            try await store.read { db in try await db.raw("SELECT 1").run() }
        } catch {
            await store.shutdown()
            throw ConfigurationError("cannot reach \(url): \(String(reflecting: error))")
        }
        if listen { store.listenTask.withLock { $0 = Task { await store.listenForPokes() } } }
        return store
    }

    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: .trace, logger: logger))
        }
    }

    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let heads = CommitHeads()
        do {
            let result = try await client.withTransaction(logger: logger) { connection in
                let db = connection.sql(queryLogLevel: .trace, logger: logger)
                let result = try await CommitHeads.$current.withValue(heads) { try await body(db) }
                // Other instances hear about the commit through LISTEN/NOTIFY (delivered only if it commits).
                for (scope, seq) in heads.all {
                    try await db.raw("SELECT pg_notify(\(bind: Self.channel), \(bind: "\(scope.rawValue) \(seq)"))").run()
                }
                return result
            }
            notifier.publish(heads.all)
            return result
        } catch let error as PostgresTransactionError {
            // Callers see their own error (an `AppError`, say) as on SQLite, once the rollback went through.
            if let closureError = error.closureError, error.rollbackError == nil { throw closureError }
            throw error
        }
    }

    /// The NOTIFY channel for scope pokes.
    static let channel = "onetrip_scope_heads"

    /// Relays pokes from other instances into this instance's notifier until cancelled.
    func listenForPokes() async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    for try await notification in try await connection.listen(Self.channel) {
                        let parts = notification.payload.split(separator: " ")
                        if parts.count == 2, let scope = Scope(String(parts[0])), let seq = Int(parts[1]) {
                            notifier.publish([scope: seq])
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN for scope pokes failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    func shutdown() async {
        listenTask.withLock { $0?.cancel() }
        runTask.cancel()
        _ = await runTask.value
    }
}
