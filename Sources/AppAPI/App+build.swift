import Foundation
import Hummingbird
import Logging
import OpenAPIHummingbird
import OpenAPIRuntime
import ServiceLifecycle

/// Builds the whole server from its configuration: opens and migrates the database, loads the seed catalog
/// into an empty database, and assembles the router. Tests build the same application.
func buildApplication(_ config: AppConfig) async throws -> some ApplicationProtocol {
    let logger = makeLogger(level: config.logLevel)
    logger.info("opening database", metadata: ["database": "\(config.database)"])
    let database = try await openDatabase(config.database, logger: logger)
    do {
        try await prepareDatabase(database, config: config, logger: logger)
        return try buildApplication(config, database: database, logger: logger)
    } catch {
        await database.shutdown()
        throw error
    }
}

/// Migrates the database and loads what a first start needs: the seed catalog, and in dev mode the demo accounts.
func prepareDatabase(_ database: any Database, config: AppConfig, logger: Logger) async throws {
    try await Migrator.migrate(database, logger: logger)
    if config.seedOnStart {
        let outcome = try await Seeder(database: database, logger: logger).seedCatalog(try SeedFiles.load(from: config.seedsDirectory))
        logger.info("seed catalog", metadata: ["seed.outcome": "\(outcome)"])
    }
    if config.dev {
        let created = try await DemoAccounts.load(from: config.seedsDirectory, into: database, bcryptCost: config.bcryptCost)
        logger.info("demo accounts (dev mode)", metadata: ["accounts.created": "\(created)"])
    }
}

/// Assembles the application over an open, migrated database; the database is closed on shutdown.
func buildApplication(_ config: AppConfig, database: any Database, logger: Logger) throws -> some ApplicationProtocol {
    let (router, api) = try buildRouter(config, database: database)
    let host = config.host
    return Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "OneTrip"),
        services: [
            DatabaseService(database: database), TombstoneCompactorService(compactor: TombstoneCompactor(database: database), logger: logger),
            PendingMaterialsService(job: PendingMaterialsJob(database: database, cases: api.cases), logger: logger),
        ],
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? config.port
            logger.notice("listening on http://\(host):\(port)")
        },
        logger: logger
    )
}

func buildRouter(_ config: AppConfig, database: any Database) throws -> (Router<AppRequestContext>, APIImplementation) {
    let router = Router(context: AppRequestContext.self)
    // Middleware applies to routes added after it (and to the not-found responder), so it goes first.
    router.middlewares.add(RequestScopeMiddleware())
    router.middlewares.add(MetricsMiddleware())
    router.middlewares.add(ProblemMiddleware())
    router.middlewares.add(BodyLimitMiddleware(limit: config.maxBodyBytes))
    let document = try loadOpenAPIDocument(near: config.seedsDirectory)
    _ = AppMetrics.registry
    let api = APIImplementation(database: database, openAPIDocument: document, bcryptCost: config.bcryptCost)
    // Compact JSON: phones pay for every byte, and sync pages are budgeted against the JSON they carry.
    try api.registerHandlers(on: router, configuration: .init(jsonEncodingOptions: [.sortedKeys]))
    return (router, api)
}

/// The contract the binary was generated from: `APPAPI_OPENAPI_PATH`, else `openapi.yaml` beside `seeds/`.
private func loadOpenAPIDocument(near seedsDirectory: URL) throws -> Data {
    let path = ProcessInfo.processInfo.environment["APPAPI_OPENAPI_PATH"]
        ?? seedsDirectory.deletingLastPathComponent().appendingPathComponent("openapi.yaml").path
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw ConfigurationError("cannot read the OpenAPI document at \(path) (set APPAPI_OPENAPI_PATH)")
    }
}

func makeLogger(level: Logger.Level) -> Logger {
    var logger = Logger(label: "appapi")
    logger.logLevel = level
    return logger
}

/// Keeps the database open while the server runs and closes it after the server has drained.
struct DatabaseService: Service {
    let database: any Database

    func run() async throws {
        try? await gracefulShutdown()
        await database.shutdown()
    }
}
