import Foundation
import Hummingbird
import Logging
import NIOCore
import OpenAPIHummingbird
import OpenAPIRuntime
import ServiceLifecycle
import SyncCore

/// The wallet's view of an account: Identity's account and device keys, mapped at the composition root.
let licenseHolders = LicenseHolders { accountID, db in
    guard let (account, keys) = try await AccountStore.accountWithDeviceKeys(accountID, on: db) else { return nil }
    return LicenseHolder(
        name: account.name, idNumber: account.idNumber, creditCode: account.creditCode,
        deviceKeys: keys.compactMap { try? JSONDecoder().decode(ECPublicJWK.self, from: Data($0.utf8)) })
}

/// Builds the whole server from its configuration: opens and migrates the database, loads the seed catalog
/// into an empty database, and assembles the router. Tests build the same application.
func buildApplication(_ config: AppConfig) async throws -> some ApplicationProtocol {
    let logger = makeLogger(level: config.logLevel)
    logger.info("opening database", metadata: ["database": "\(config.database)"])
    let database = try await openDatabase(config.database, role: .server, logger: logger)
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
    try await Migrator.migrate(database, migrations: AppMigrations.all, logger: logger)
    if config.seedOnStart {
        let outcome = try await Seeder(database: database, logger: logger).seedCatalog(try SeedFiles.load(from: config.seedsDirectory))
        logger.info("seed catalog", metadata: ["seed.outcome": "\(outcome)"])
    }
    let issuers = try await IssuerKeyStore(database: database, publicBaseURL: config.publicURL, runtime: config.runtime)
        .ensureKeys(for: try await database.read { db in try await ChangeLog.entities(Department.self, in: .public, on: db) }.map(\.id))
    if issuers > 0 { logger.info("issuer keys", metadata: ["keys.created": "\(issuers)"]) }
    if config.paymentSandbox {
        let decisions = try await Payments.loadDecisions(from: config.seedsDirectory, into: database)
        if decisions > 0 { logger.info("penalty decisions (sandbox)", metadata: ["decisions.created": "\(decisions)"]) }
    }
    if config.dev {
        let created = try await DemoAccounts.load(
            from: config.seedsDirectory, into: database, bcryptCost: config.bcryptCost, threads: config.bcryptThreads)
        logger.info("demo accounts (dev mode)", metadata: ["accounts.created": "\(created)"])
        // The demo licenses are issued as any license is, with the configured number of copies.
        let wallet = Wallet(
            database: database, publicBaseURL: config.publicURL, holders: licenseHolders, runtime: config.runtime, batchSize: config.licenseCopies)
        let accounts = AccountStore(database: database)
        let licenses = try await DemoLicenses.load(
            try DemoLicenses.entries(from: config.seedsDirectory), into: wallet.licenses, database: database,
            account: { holder in
                let identifier: AccountStore.Identifier = (try? ResidentIDNumber(holder)) != nil ? .idNumber(holder) : .creditCode(holder)
                return try await accounts.account(identifiedBy: identifier)?.id
            })
        logger.info("demo licenses (dev mode)", metadata: ["licenses.issued": "\(licenses)"])
    }
}

/// The composition root: builds every store, service, observer and job over an open, migrated database and passes
/// them down. Capabilities meet only here — through the persisters they register with the sync engine, the observer
/// protocols they declare, and the seams the platform takes (`Authenticator`, `BlobCitations`).
func buildApplication(_ config: AppConfig, database: any Database, logger: Logger) throws -> some ApplicationProtocol {
    let runtime = config.runtime
    // Platform
    let headCache = HeadCache(enabled: database.engine == .sqlite)
    let notifier = ChangeNotifier(heads: headCache)
    database.addCommitObserver(notifier)
    let idempotency = IdempotencyStore(runtime: runtime)
    // Capabilities
    let tokens = TokenService(database: database, runtime: runtime)
    let bcrypt = BcryptPool(threads: config.bcryptThreads, maxQueued: config.bcryptQueue)
    let identity = IdentityService(
        database: database, tokens: tokens, hasher: PasswordHasher(cost: config.bcryptCost, pool: bcrypt),
        registrationsPerHour: config.registrationsPerHour,
        runtime: runtime)
    let catalog = CatalogStore(database: database)
    let wallet = Wallet(
        database: database, publicBaseURL: config.publicURL, holders: licenseHolders, runtime: runtime, batchSize: config.licenseCopies)
    let cases = CaseStore(
        database: database,
        observers: [CaseMessages(), RectificationTasks()] + wallet.caseObservers + [
            CaseFeeOrders(orders: PaymentOrderStore(runtime: runtime), runtime: runtime)
        ],
        calendar: WorkingCalendarStore(), runtime: runtime)
    let payments = Payments(
        database: database, effects: paymentEffects(wallet: wallet, cases: cases),
        sandbox: config.paymentSandbox ? SandboxMerchants.load(from: config.seedsDirectory) : nil,
        timeScale: config.sandboxTimeScale, deliveryInterval: config.sandboxDeliveryInterval,
        reconciliationInterval: config.reconciliationInterval, runtime: runtime)
    let caseStatistics = CaseStatistics(database: database, runtime: runtime)
    database.addCommitObserver(caseStatistics)
    let blobs = BlobStore(database: database, runtime: runtime)
    // The sync engine over every capability's persisters.
    let registry = SyncRegistry(
        IdentityService.persisters + CatalogStore.persisters + [CasePersister(store: cases)] + AppointmentSlotStore.persisters + [BlobRefPersister()]
            + wallet.persisters)
    let sync = SyncService(
        database: database, runner: MutationRunner(schema: .oneTrip, registry: registry),
        clients: SyncClients(deviceIsActive: { try await tokens.isActive(deviceID: $0) }, runtime: runtime), clock: ServerClock(),
        headCache: headCache,
        runtime: runtime)

    let api = APIImplementation(
        database: database, runtime: runtime, authenticator: tokens, sync: sync, notifier: notifier, idempotency: idempotency,
        migrations: AppMigrations.all, openAPIDocument: try loadOpenAPIDocument(near: config.seedsDirectory), tokens: tokens, identity: identity,
        catalog: catalog, cases: cases, caseStatistics: caseStatistics, blobs: blobs, wallet: wallet, payments: payments,
        blobCitations: BlobCitations(isCited: { sha, department in try await cases.cites(sha, department: department) }))
    let router = try buildRouter(config, api: api)

    var services: [any Service] = [
        DatabaseService(database: database),
        BcryptPoolService(pool: bcrypt),
        PeriodicJobService(
            jobs: [
                TombstoneCompactor(database: database, headCache: headCache, runtime: runtime).job,
                PendingMaterialsJob(database: database, cases: cases, runtime: runtime).job,
                idempotency.purgeJob(database),
                PeriodicJob(name: "attempt limits", interval: .seconds(3600)) {
                    let purged = try await identity.limiter.purge(olderThan: .seconds(24 * 3600))
                    return purged > 0 ? "forgot \(purged) expired counters" : nil
                },
                PeriodicJob(name: "status lists", interval: .seconds(600)) {
                    let refreshed = try await wallet.statusLists.refreshStale()
                    return refreshed > 0 ? "re-signed \(refreshed) status lists" : nil
                },
                PeriodicJob(name: "wallet nonces and codes", interval: .seconds(3600)) {
                    let purged = try await wallet.nonces.purge() + wallet.offers.purge()
                    return purged > 0 ? "forgot \(purged) expired nonces, codes and tokens" : nil
                },
                PeriodicJob(name: "sync verdicts", interval: .seconds(3600)) {
                    let purged = try await sync.purgeVerdicts()
                    return purged > 0 ? "forgot \(purged) expired verdicts" : nil
                },
            ] + payments.jobs, logger: logger),
    ]
    if let postgres = database as? PostgresDatabaseStore { services.append(PokeRelayService(store: postgres, notifier: notifier)) }
    let host = config.host
    return Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: TimeAmount(config.idleTimeout))),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "OneTrip"),
        services: services,
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? config.port
            logger.notice("listening on http://\(host):\(port)")
            // The sandbox channels notify this server over its own socket, as the real ones would.
            let reachable = ["0.0.0.0", "::", ""].contains(host) ? "127.0.0.1" : host.contains(":") ? "[\(host)]" : host
            payments.deliveries.send(to: "http://\(reachable):\(port)")
        },
        logger: logger
    )
}

func buildRouter(_ config: AppConfig, api: APIImplementation) throws -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    // Middleware applies to routes added after it (and to the not-found responder), so it goes first.
    router.middlewares.add(RequestScopeMiddleware(trustedProxies: config.trustedProxies))
    router.middlewares.add(MetricsMiddleware())
    router.middlewares.add(ProblemMiddleware())
    router.middlewares.add(RawHeaderMiddleware())
    router.middlewares.add(OAuthErrorMiddleware())
    router.middlewares.add(BodyLimitMiddleware(limit: config.maxBodyBytes, authenticator: api.authenticator, timeout: config.bodyTimeout))
    _ = AppMetrics.registry
    // Compact JSON: phones pay for every byte, and sync pages are budgeted against the JSON they carry.
    try api.registerHandlers(on: router, configuration: .init(jsonEncodingOptions: [.sortedKeys]))
    return router
}

/// The contract the binary was generated from: `APPAPI_OPENAPI_PATH`, else `openapi.yaml` beside `seeds/`.
private func loadOpenAPIDocument(near seedsDirectory: URL) throws -> Data {
    let path =
        ProcessInfo.processInfo.environment["APPAPI_OPENAPI_PATH"]
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

/// What a paid order sets off in the other capabilities: its e-receipt (电子票据) issued by the finance bureau into
/// the payer's wallet, and its case approved by the system (`awaiting_payment → approved`), which issues the case's
/// own license through the wallet's case observer — all in the transaction that marks the order paid.
func paymentEffects(wallet: Wallet, cases: CaseStore) -> PaymentEffects {
    PaymentEffects(
        issueReceipt: { order, db in
            guard let type = try await ChangeLog.entity(LicenseType.self, id: "e_receipt", in: .public, on: db),
                let holder = try await licenseHolders.holder(order.payerAccountId, db)
            else { return nil }
            let department = try await ChangeLog.entity(Department.self, id: type.departmentId, in: .public, on: db)
            let collecting = try await ChangeLog.entity(Department.self, id: order.departmentId, in: .public, on: db)
            let digits = String(order.paymentCode.suffix(10))
            let fields = [
                "receipt_code": "330101" + String(order.paymentCode.dropFirst(6).prefix(2)), "receipt_number": digits,
                "check_code": String(order.paymentCode.suffix(6)), "payer": holder.name,
                "item_code": order.lines.first?.feeItemCode ?? "", "item_name": order.title, "amount_fen": String(order.totalFen),
                "collecting_agency": collecting?.name ?? order.departmentId,
                "issued_on": WorkingCalendar.day(fromMillis: order.paidAt ?? Int64(Clock.nowMillis())),
            ]
            guard
                let issued = try await wallet.licenses.issue(
                    .init(type: type, department: department, accountID: order.payerAccountId, fields: fields, id: "lic_rcpt_\(order.id)"), on: db)
            else { return nil }
            return (issued.license.id, issued.records)
        },
        casePaid: { caseID, order, db in
            guard let current = try await cases.load(caseID, on: db), current.state == .awaitingPayment else { return [] }
            try await ChangeLog.lock(.user(current.accountId), on: db)
            guard let locked = try await cases.load(caseID, on: db), locked.state == .awaitingPayment else { return [] }
            let next = try CaseWorkflow.perform(
                .approve, on: locked, by: .system, at: order.paidAt ?? Int64(Clock.nowMillis()),
                note: "已缴费 \(Yuan.format(fen: order.totalFen)) 元（缴款码 \(order.paymentCode)）", details: .init(),
                calendar: try await cases.calendar.current(on: db))
            return try await cases.persist(old: locked, new: next, on: db)
        })
}
