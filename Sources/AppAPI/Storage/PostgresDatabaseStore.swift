import Foundation
import Logging
import PostgresKit
import PostgresNIO
import SQLKit

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
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger

    private init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        self.runTask = Task { await client.run() }
    }

    static func open(_ url: PostgresURL, maxConnections: Int = 20, logger: Logger) async throws -> PostgresDatabaseStore {
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
        return store
    }

    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: .trace, logger: logger))
        }
    }

    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await body(connection.sql(queryLogLevel: .trace, logger: logger))
            }
        } catch let error as PostgresTransactionError {
            // Callers see their own error (an `AppError`, say) as on SQLite, once the rollback went through.
            if let closureError = error.closureError, error.rollbackError == nil { throw closureError }
            throw error
        }
    }

    func shutdown() async {
        runTask.cancel()
        _ = await runTask.value
    }
}
