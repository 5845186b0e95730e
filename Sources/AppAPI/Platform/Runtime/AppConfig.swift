import ArgumentParser
import Foundation
import Logging

/// Resolved server configuration. Every value comes from a flag, else the environment, else a default.
struct AppConfig: Sendable {
    var host = "127.0.0.1"
    var port = 8080
    var dataDirectory = "./data"
    var database: DatabaseLocation
    var logLevel: Logger.Level = .info
    /// Sandbox payment channels and demo accounts.
    var dev = false
    var seedsDirectory: URL
    /// Load the seed catalog into an empty database on start.
    var seedOnStart = true
    var maxBodyBytes = BodyLimitMiddleware.defaultLimit
    /// bcrypt cost for new password hashes (APPAPI_BCRYPT_COST; 12 unless testing).
    var bcryptCost: UInt8 = 12
    /// bcrypt worker threads (APPAPI_BCRYPT_THREADS; half the cores).
    var bcryptThreads = BcryptPool.defaultThreads
    /// bcrypt jobs that may wait for a thread before logins and registrations get 503 (APPAPI_BCRYPT_QUEUE; 8 per thread).
    var bcryptQueue: Int?
    /// Registrations per client network and hour (APPAPI_REGISTRATIONS_PER_HOUR; 0 = no limit, for load tests).
    var registrationsPerHour = RegistrationThrottle.defaultPerHour
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`, APPAPI_TRUSTED_PROXIES; none).
    var trustedProxies: TrustedProxies = .none
    /// Seconds a connection may stay silent before it is closed (APPAPI_IDLE_TIMEOUT; 60).
    var idleTimeout: Duration = .seconds(60)
    /// Seconds a request body may take to arrive, plus one per 64 KiB declared (APPAPI_BODY_TIMEOUT; 30).
    var bodyTimeout: Duration = .seconds(30)
    /// Wall clock and ids (tests set the time by hand).
    var runtime: Runtime = .live
    /// The public origin of the deployment: issuer identifiers (`<url>/issuers/<department>`), status-list URIs and
    /// verifier audiences are built on it (`APPAPI_PUBLIC_URL`).
    var publicURL = "https://onetrip.hangzhou.gov.cn"
    /// SD-JWT copies issued per license (`APPAPI_LICENSE_COPIES`, 1–16).
    var licenseCopies = 4
    /// The simulated payment channels (alipay, wechat, unionpay) and the sample penalty decisions: dev mode and tests only.
    var paymentSandbox = false
    /// Divides the sandbox channels' resend delays (Alipay's schedule spans 25 hours).
    var sandboxTimeScale: Double = 1
    /// How often the sandbox channels deliver on their own; `nil` (tests): only when asked.
    var sandboxDeliveryInterval: Duration? = .seconds(1)
    /// How often the daily reconciliation job looks whether the previous day is reconciled yet.
    var reconciliationInterval: Duration = .seconds(3600)
}

/// The command-line options shared by `appapi serve` and the maintenance subcommands.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on (APPAPI_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on, 0 for any free port (APPAPI_PORT; default 8080).")
    var port: Int?

    @Option(help: "Directory for the SQLite database and keys (APPAPI_DATA_DIR; default ./data).")
    var dataDir: String?

    @Option(help: "sqlite:PATH or postgres://user:pass@host:port/db (DATABASE_URL; default SQLite in the data directory).")
    var databaseURL: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical (APPAPI_LOG_LEVEL; default info).")
    var logLevel: String?

    @Flag(help: "Development mode: sandbox payment channels and demo accounts (APPAPI_DEV=1).")
    var dev = false

    @Option(help: "Directory of the seed files (APPAPI_SEEDS_DIR; default ./seeds).")
    var seedsDir: String?

    @Flag(help: "Do not load the seed catalog into an empty database (APPAPI_NO_SEED=1).")
    var noSeed = false

    @Option(
        name: .customLong("trusted-proxy"),
        help:
            "A proxy (IP or CIDR) whose X-Forwarded-For names the client; repeat for several (APPAPI_TRUSTED_PROXIES, comma-separated; default none)."
    )
    var trustedProxies: [String] = []

    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfig {
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let dataDirectory = dataDir ?? env("APPAPI_DATA_DIR") ?? "./data"
        let databaseRaw = databaseURL ?? env("DATABASE_URL") ?? (dataDirectory as NSString).appendingPathComponent("onetrip.sqlite")
        var config = AppConfig(database: try DatabaseLocation(databaseRaw), seedsDirectory: SeedFiles.defaultDirectory(environment: environment))
        config.host = host ?? env("APPAPI_HOST") ?? config.host
        if let rawPort = port.map(String.init) ?? env("APPAPI_PORT") {
            guard let value = Int(rawPort), (0...65535).contains(value) else { throw ConfigurationError("port must be 0...65535, got \(rawPort)") }
            config.port = value
        }
        config.dataDirectory = dataDirectory
        if let rawLevel = logLevel ?? env("APPAPI_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: rawLevel.lowercased()) else { throw ConfigurationError("unknown log level \(rawLevel)") }
            config.logLevel = level
        }
        config.dev = dev || ["1", "true", "yes"].contains(env("APPAPI_DEV")?.lowercased() ?? "")
        config.paymentSandbox = config.dev
        if let scale = env("APPAPI_SANDBOX_TIME_SCALE").flatMap(Double.init), scale >= 1, scale <= 100_000 { config.sandboxTimeScale = scale }
        if let seeds = seedsDir { config.seedsDirectory = URL(fileURLWithPath: seeds) }
        config.seedOnStart = !(noSeed || env("APPAPI_NO_SEED") == "1")
        if let rawCost = env("APPAPI_BCRYPT_COST") {
            guard let cost = UInt8(rawCost), (4...16).contains(cost) else { throw ConfigurationError("APPAPI_BCRYPT_COST must be 4...16") }
            config.bcryptCost = cost
        }
        func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
            guard let raw = env(name) else { return nil }
            guard let value = Int(raw), range.contains(value) else {
                throw ConfigurationError("\(name) must be \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        if let threads = try integer("APPAPI_BCRYPT_THREADS", in: 1...256) { config.bcryptThreads = threads }
        config.bcryptQueue = try integer("APPAPI_BCRYPT_QUEUE", in: 0...100_000)
        if let perHour = try integer("APPAPI_REGISTRATIONS_PER_HOUR", in: 0...1_000_000) { config.registrationsPerHour = perHour }
        if let seconds = try integer("APPAPI_IDLE_TIMEOUT", in: 1...86_400) { config.idleTimeout = .seconds(seconds) }
        if let seconds = try integer("APPAPI_BODY_TIMEOUT", in: 1...3600) { config.bodyTimeout = .seconds(seconds) }
        if let copies = try integer("APPAPI_LICENSE_COPIES", in: 1...LicenseStore.maxBatchSize) { config.licenseCopies = copies }
        if let url = env("APPAPI_PUBLIC_URL") {
            guard url.hasPrefix("https://") || url.hasPrefix("http://"), !url.hasSuffix("/"), url.utf8.count <= 200, URL(string: url)?.host != nil
            else { throw ConfigurationError("APPAPI_PUBLIC_URL must be an http(s) origin without a trailing slash, got \(url)") }
            config.publicURL = url
        }
        config.trustedProxies = try TrustedProxies(
            parsing: trustedProxies.isEmpty ? env("APPAPI_TRUSTED_PROXIES").map { [$0] } ?? [] : trustedProxies)
        return config
    }
}
