import Foundation
import Logging
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization

/// A `postgres://user:password@host:port/database?sslmode=…&sslrootcert=…` URL. Its description never shows the
/// password.
struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    /// libpq's `sslmode` values this server honours.
    enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP (a private network or a local socket proxy).
        case disable
        /// TLS, without checking the server's certificate (protects against eavesdropping only).
        case require
        /// TLS with a certificate signed by a trusted root (`sslrootcert`, else the system's), any host name.
        case verifyCA = "verify-ca"
        /// TLS with a trusted certificate for this host name.
        case verifyFull = "verify-full"
    }

    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String
    var tls: TLSMode
    /// A PEM file of trusted roots for `verify-ca` and `verify-full`.
    var rootCertificatePath: String?

    init(_ raw: String) throws {
        guard let components = URLComponents(string: raw), let host = components.host, !host.isEmpty else {
            throw ConfigurationError("malformed Postgres URL \(Self.redacted(raw))")
        }
        let query = components.queryItems ?? []
        let sslmode = query.first { $0.name == "sslmode" }?.value ?? "disable"
        guard let tls = TLSMode(rawValue: sslmode) else {
            throw ConfigurationError("sslmode=\(sslmode) is not supported; use disable, require, verify-ca or verify-full")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.username : path
        self.tls = tls
        self.rootCertificatePath = query.first { $0.name == "sslrootcert" }?.value
    }

    var description: String { "postgres://\(username)@\(host):\(port)/\(database)" + (tls == .disable ? "" : "?sslmode=\(tls.rawValue)") }

    /// `raw` with any password replaced, for error messages.
    static func redacted(_ raw: String) -> String {
        guard var components = URLComponents(string: raw) else { return "<unparseable URL>" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "<unparseable URL>"
    }

    /// The client's TLS setting.
    func clientTLS() throws -> PostgresClient.Configuration.TLS {
        guard tls != .disable else { return .disable }
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch tls {
        case .disable, .require: configuration.certificateVerification = .none
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
        if let rootCertificatePath {
            guard FileManager.default.isReadableFile(atPath: rootCertificatePath) else {
                throw ConfigurationError("sslrootcert \(rootCertificatePath) cannot be read")
            }
            configuration.trustRoots = .file(rootCertificatePath)
        }
        return .require(configuration)
    }
}

/// PostgreSQL for scale-out: a pooled client shared by any number of stateless `appapi` instances.
///
/// READ COMMITTED, as Postgres defaults: writers lock what they read before deciding (`FOR UPDATE` through the
/// stores), and a deadlock or serialization failure re-runs the transaction.
final class PostgresDatabaseStore: Database {
    let engine = DatabaseEngine.postgres
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger
    private let driver: Logger
    private let observers = CommitObservers()
    /// Connections per instance: each instance holds up to this many; size it so that instances × this stays
    /// below the server's `max_connections` (100 by default) with room for maintenance.
    static let defaultMaxConnections = 20
    /// Tries of a transaction that meets a deadlock or serialization failure.
    static let transactionAttempts = 4

    private init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        self.driver = driverLogger(logger)
        // The client's run loop serves every lease; it starts with the store (migrations run before the server
        // starts) and ends in `shutdown`, which the `DatabaseService` calls when the service group stops.
        self.runTask = Task { await client.run() }
    }

    static func open(_ url: PostgresURL, maxConnections: Int = defaultMaxConnections, logger: Logger) async throws -> PostgresDatabaseStore {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: try url.clientTLS()
        )
        configuration.options.maximumConnections = maxConnections
        let store = PostgresDatabaseStore(
            client: PostgresClient(configuration: configuration, backgroundLogger: driverLogger(logger)), logger: logger)
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
            try await body(connection.sql(queryLogLevel: nil, logger: driver))
        }
    }

    func snapshot<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            let db = connection.sql(queryLogLevel: nil, logger: driver)
            return try await db.withReadTransaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { try await body(db) }
        }
    }

    @discardableResult
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                let (result, notes) = try await client.withTransaction(logger: driver) { connection in
                    try await observers.collect(on: connection.sql(queryLogLevel: nil, logger: driver), engine: engine) {
                        try await body(connection.sql(queryLogLevel: nil, logger: driver))
                    }
                }
                observers.announce(notes)
                return result
            } catch let error as PostgresTransactionError {
                let failure = error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError
                if attempt < Self.transactionAttempts, let failure, Self.isRetryable(failure) {
                    attempt += 1
                    logger.debug("transaction retried", metadata: ["db.attempt": "\(attempt)"])
                    try await Task.sleep(for: .milliseconds(Int.random(in: 1...(10 * attempt))))
                    continue
                }
                // Callers see their own error (an `AppError`, say) as on SQLite, once the rollback went through.
                if let closureError = error.closureError, error.rollbackError == nil { throw closureError }
                throw error
            }
        }
    }

    func addCommitObserver(_ observer: any CommitObserver) { observers.add(observer) }

    /// Deadlocks and serialization failures: the transaction did nothing and may simply run again.
    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }

    /// Runs `onPayload` for every notification on `channel` until cancelled, re-listening after a lost connection.
    func listen(_ channel: String, onPayload: @Sendable (String) -> Void) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        for try await notification in notifications { onPayload(notification.payload) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN failed; retrying", metadata: ["db.channel": "\(channel)", "error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    func shutdown() async {
        runTask.cancel()
        _ = await runTask.value
    }
}
