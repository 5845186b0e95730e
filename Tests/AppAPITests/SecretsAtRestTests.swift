import Foundation
import Logging
import Synchronization
import Testing

@testable import AppAPI

/// Secrets at rest and in logs: file modes, trace logs, database URLs.
@Suite struct SecretsAtRestTests {
    @Test("S20: a trace-level log holds no private key, password hash, refresh token or its hash", arguments: TestEngine.enabled)
    func traceLogsHoldNoSecrets(engine: TestEngine) async throws {
        let captured = CapturedLog()
        var logger = Logger(label: "appapi.trace-test") { _ in CapturingLogHandler(log: captured) }
        logger.logLevel = .trace
        let secrets = Mutex<[String]>([])
        try await withFreshDatabase(engine) { location in
            var config = testConfig(location)
            config.logLevel = .trace
            try await withApp(config, logger: logger) { client, _ in
                let session = try await client.loginCitizen()
                let refreshed = try await client.post("/v1/auth/refresh", json: ["refreshToken": session.refreshToken]).json(TokenResponse.self)
                #expect(try await client.post("/v1/auth/register", json: FreshIdentity.registration(password: "Secret2026trace")).status == .accepted)
                _ = try await client.post("/v1/sync/pull", json: ["clientId": "trace-client-1"], token: refreshed.accessToken)
                secrets.withLock {
                    $0 = [
                        session.refreshToken, refreshed.refreshToken, TokenService.hashRefreshToken(session.refreshToken),
                        TokenService.hashRefreshToken(refreshed.refreshToken), Demo.citizen.password, "Secret2026trace", session.accessToken,
                    ]
                }
            }
        }
        let text = captured.text
        #expect(text.contains("applied migration"), "the capture works and saw trace-level output")
        for marker in ["PRIVATE KEY", "$2b$", "$2y$", "$2a$"] + secrets.withLock({ $0 }) {
            #expect(!text.contains(marker), "the log contains \(marker.prefix(12))…")
        }
    }

    @Test("S20: a new SQLite database is 0600 with its WAL and SHM, in a new 0700 directory, whatever the umask")
    func sqliteFilesArePrivate() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-perm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let path = root.appendingPathComponent("data/onetrip.sqlite").path
        let database = try await SQLiteDatabaseStore.open(path: path, role: .server, logger: testLogger)
        try await database.transaction { db in try await db.raw("CREATE TABLE t (x INTEGER)").run() }
        func mode(_ file: String) throws -> Int { try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int ?? -1 }
        #expect(try mode(root.appendingPathComponent("data").path) == 0o700)
        for file in [path, path + "-wal", path + "-shm"] {
            let found = try mode(file)
            #expect(found == 0o600, "\(file): \(String(found, radix: 8))")
        }
        await database.shutdown()
    }

    @Test("S42: Postgres URLs choose TLS with sslmode and sslrootcert, refuse unknown modes and never show the password")
    func postgresURLsConfigureTLS() throws {
        let plain = try PostgresURL("postgres://app:s3cret@db.internal:6432/onetrip")
        #expect(plain.tls == .disable && plain.port == 6432 && plain.database == "onetrip" && plain.password == "s3cret")
        #expect(!plain.description.contains("s3cret"))
        for (mode, expected) in [
            ("disable", PostgresURL.TLSMode.disable), ("require", .require), ("verify-ca", .verifyCA), ("verify-full", .verifyFull),
        ] {
            #expect(try PostgresURL("postgres://app@db/onetrip?sslmode=\(mode)").tls == expected)
        }
        let rooted = try PostgresURL("postgres://app@db/onetrip?sslmode=verify-full&sslrootcert=/etc/ssl/rds.pem")
        #expect(rooted.rootCertificatePath == "/etc/ssl/rds.pem")
        #expect(rooted.description == "postgres://app@db:5432/onetrip?sslmode=verify-full")
        for mode in ["prefer", "allow", "VERIFY-FULL", ""] {
            #expect(throws: ConfigurationError.self, "sslmode=\(mode)") { try PostgresURL("postgres://app:pw@db/onetrip?sslmode=\(mode)") }
        }
        do {
            _ = try PostgresURL("postgres://app:hunter2@db/onetrip?sslmode=prefer")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
        // A root certificate that cannot be read is refused before connecting.
        #expect(throws: ConfigurationError.self) { try PostgresURL("postgres://app@db/x?sslmode=verify-ca&sslrootcert=/nonexistent.pem").clientTLS() }
        #expect(throws: Never.self) { try PostgresURL("postgres://app@db/x?sslmode=require").clientTLS() }
    }
}

/// Log text collected from every logger of a test app.
final class CapturedLog: Sendable {
    private let storage = Mutex("")
    var text: String { storage.withLock { $0 } }
    func append(_ line: String) { storage.withLock { $0 += line + "\n" } }
}

/// A log handler that writes into a `CapturedLog`, message and metadata alike.
struct CapturingLogHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        log.append("\(event.level) \(event.message) \(all) \(event.error.map { String(reflecting: $0) } ?? "")")
    }
}
