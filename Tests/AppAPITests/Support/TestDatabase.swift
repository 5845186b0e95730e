import Foundation
import Logging
import Testing

@testable import AppAPI

/// The engines storage tests run on. Postgres joins when the test script provides a cluster
/// (`APPAPI_TEST_POSTGRES_URL`); `APPAPI_TEST_REQUIRE_POSTGRES=1` (set by `scripts/test`) makes its absence a failure.
enum TestEngine: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static var enabled: [TestEngine] {
        ProcessInfo.processInfo.environment["APPAPI_TEST_POSTGRES_URL"] == nil ? [.sqlite] : [.sqlite, .postgres]
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "appapi.tests")
    logger.logLevel = ProcessInfo.processInfo.environment["APPAPI_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}()

/// The repository root (for `seeds/` and `openapi.yaml`).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Gives `body` a fresh, empty database of `engine` and removes it afterwards.
func withFreshDatabase<T: Sendable>(_ engine: TestEngine, _ body: (DatabaseLocation) async throws -> T) async throws -> T {
    switch engine {
    case .sqlite:
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onetrip-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(.sqlite(path: directory.appendingPathComponent("onetrip.sqlite").path))
    case .postgres:
        let raw = try #require(ProcessInfo.processInfo.environment["APPAPI_TEST_POSTGRES_URL"])
        let admin = try PostgresURL(raw)
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let adminStore = try await PostgresDatabaseStore.open(admin, maxConnections: 1, logger: testLogger)
        try await adminStore.read { db in try await db.raw("CREATE DATABASE \(ident: name)").run() }
        var location = admin
        location.database = name
        do {
            let result = try await body(.postgres(location))
            try await adminStore.read { db in try await db.raw("DROP DATABASE IF EXISTS \(ident: name) WITH (FORCE)").run() }
            await adminStore.shutdown()
            return result
        } catch {
            try? await adminStore.read { db in try await db.raw("DROP DATABASE IF EXISTS \(ident: name) WITH (FORCE)").run() }
            await adminStore.shutdown()
            throw error
        }
    }
}

/// Opens a fresh, migrated database of `engine` for `body`, then closes and removes it.
func withMigratedDatabase<T: Sendable>(_ engine: TestEngine, _ body: (any Database) async throws -> T) async throws -> T {
    try await withFreshDatabase(engine) { location in
        let database = try await openDatabase(location, logger: testLogger)
        do {
            try await Migrator.migrate(database, migrations: AppMigrations.all, logger: testLogger)
            let result = try await body(database)
            await database.shutdown()
            return result
        } catch {
            await database.shutdown()
            throw error
        }
    }
}

/// A server configuration for tests over `location`, using the repository's seeds.
func testConfig(_ location: DatabaseLocation) -> AppConfig {
    var config = AppConfig(database: location, seedsDirectory: repositoryRoot.appendingPathComponent("seeds"))
    config.port = 0
    config.logLevel = .critical
    // Demo accounts (clerks, an admin, kiosks) with the cheapest bcrypt cost keep tests fast.
    config.dev = true
    config.paymentSandbox = true
    // Deliveries go out when a test asks (each confirmation, `POST /sandbox/deliveries`), not on a timer of their own.
    config.sandboxDeliveryInterval = nil
    config.bcryptCost = 4
    return config
}

@Suite struct TestEnvironmentTests {
    @Test func postgresIsPresentWhenTheTestScriptRequiresIt() {
        let environment = ProcessInfo.processInfo.environment
        if environment["APPAPI_TEST_REQUIRE_POSTGRES"] == "1" {
            #expect(TestEngine.enabled.contains(.postgres), "scripts/test promised a Postgres cluster but APPAPI_TEST_POSTGRES_URL is unset")
        }
    }
}
