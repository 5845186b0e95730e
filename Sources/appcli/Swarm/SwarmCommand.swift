import ArgumentParser
import AsyncHTTPClient
import Foundation
import SyncCore

/// `appcli swarm`: many simulated phones and clerks against one server at once, then a convergence check.
struct SwarmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swarm", abstract: "Run N simulated phones and the demo clerks at once; report throughput, latency and convergence.",
        discussion: """
            The server must run with --dev (demo clerks) and, to register hundreds of phones quickly from one address,
            APPAPI_BCRYPT_COST=4 and no registration limit (a load test, not a deployment):
              APPAPI_BCRYPT_COST=4 APPAPI_REGISTRATIONS_PER_HOUR=0 appapi serve --dev --data-dir /tmp/swarm
              appcli swarm --phones 200 --duration 60s
            Exits 5 when a phone's replica does not match the server at the end, 4 when the server is unreachable.
            """)

    @OptionGroup var global: GlobalOptions
    @Option(help: "Simulated phones (devices).") var phones: Int = 50
    @Option(help: "How long the journeys run, e.g. 60s, 2m.") var duration: String = "30s"
    @Option(help: "Share of the phones offline at a time (their changes queue, then sync on reconnect), 0–1.") var offlineRatio: Double = 0.2
    @Option(help: "Share of phones that are a citizen's second device (two devices editing the same drafts), 0–1.") var twoDeviceShare: Double = 0.2
    @Option(help: "Mean pause between a user's actions, e.g. 500ms, 1s.") var think: String = "500ms"
    @Option(help: "Most simulated clerks (one per department among the demo clerks).") var clerks: Int = 16
    @Option(help: "The demo accounts file (default: seeds/demo-accounts.json here or in the checkout appcli was built from).") var accounts: String?

    func validate() throws {
        guard phones >= 1 else { throw ValidationError("--phones must be at least 1") }
        guard (0...1).contains(offlineRatio), (0...1).contains(twoDeviceShare) else { throw ValidationError("ratios are between 0 and 1") }
        _ = try parseDuration(duration)
        _ = try parseDuration(think)
    }

    func run() async throws {
        let server = try global.serverURL
        let runFor = try parseDuration(duration)
        let pause = try parseDuration(think)
        let stats = SwarmStats()
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: phones + clerks + 8)))
        do {
            try await swarm(server: server, http: http, runFor: runFor, pause: pause, stats: stats)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    private func swarm(server: URL, http: HTTPClient, runFor: Duration, pause: Duration, stats: SwarmStats) async throws {
        let probe = APIConnection(serverURL: server, http: http)
        guard case .ok = try await probe.client.getHealth() else { throw CLIError.unreachable("\(server) does not answer /healthz") }

        let setupStart = ContinuousClock.now
        let shifts = try await startClerks(server: server, http: http, stats: stats)
        let pairs = min(phones / 2, Int((Double(phones) * twoDeviceShare / 2).rounded()))
        let plan = Array(repeating: 2, count: pairs) + Array(repeating: 1, count: phones - 2 * pairs)
        let citizens = try await inParallel(plan.indices.map { $0 }, width: 8, label: "registering citizens") { index in
            try await retryingTransient {
                try await SwarmCitizen.register(index: index, devices: plan[index], server: server, http: http, stats: stats)
            }
        }
        let devices = citizens.flatMap(\.devices)
        _ = try await inParallel(devices, width: 16, label: "initial sync") { device in
            try await retryingTransient { try await device.sync("initial sync", stats: stats) }
        }
        let setupSeconds = seconds(ContinuousClock.now - setupStart)

        let departments = Set(shifts.map(\.department))
        let catalog = try devices[0].replica.entities(Matter.self)
        let matters = catalog.filter { departments.contains($0.departmentId) }
        guard !matters.isEmpty else { throw CLIError.local("no matter of the clerks' departments in the catalog") }
        let keywords = ["营业执照", "不动产", "公积金", "社保", "户籍", "身份证", "出生", "退休", "结婚", "税", "证明", "登记", "变更"]
        let runStart = ContinuousClock.now
        let world = SwarmWorld(
            stats: stats, deadline: runStart + runFor, think: pause, offlineRatio: offlineRatio, phones: devices.count, matters: matters,
            bundles: try devices[0].replica.entities(MatterBundle.self), keywords: keywords)
        note("running \(devices.count) phones (\(citizens.count) citizens) and \(shifts.count) clerks for \(duration)…")
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await SwarmProgressBar(stats: stats, start: runStart, deadline: world.deadline, phones: devices.count).run() }
            for shift in shifts { group.addTask { await ClerkShift(connection: shift.connection, department: shift.department, world: world).run() } }
            for citizen in citizens { group.addTask { await CitizenJourney(citizen: citizen, world: world).run() } }
            await group.waitForAll()
        }
        let runSeconds = seconds(ContinuousClock.now - runStart)

        note("checking convergence of \(devices.count) replicas…")
        let results = await SwarmConvergence.check(devices, stats: stats)
        let report = SwarmReport(
            stats: stats, server: server, phones: devices.count, citizens: citizens.count, twoDeviceCitizens: pairs, clerks: shifts.count,
            offlineRatio: offlineRatio, think: pause, setupSeconds: setupSeconds, runSeconds: runSeconds, results: results)
        if global.json { try printJSON(report) } else { print(report.render()) }
        if !report.converged { throw ExitCode(ExitStatus.convergence) }
    }

    /// Logs in one demo clerk per department (at most `clerks`).
    private func startClerks(server: URL, http: HTTPClient, stats: SwarmStats) async throws -> [(connection: APIConnection, department: String)] {
        struct DemoAccount: Decodable {
            var kind: String
            var username: String?
            var password: String
            var departmentId: String?
        }
        let url = try demoAccountsURL()
        let all = try JSONDecoder().decode([DemoAccount].self, from: try Data(contentsOf: url))
        var seen = Set<String>()
        let chosen = all.filter { $0.kind == "clerk" && $0.username != nil && $0.departmentId != nil && seen.insert($0.departmentId!).inserted }
            .prefix(clerks)
        var shifts: [(APIConnection, String)] = []
        for account in chosen {
            do {
                let clerk = try await SwarmPhone.login(
                    server: server, http: http, identifier: .init(username: account.username), password: account.password,
                    label: "swarm-\(account.username!)",
                    stats: stats, operation: "clerk login")
                shifts.append((clerk.connection, account.departmentId!))
            } catch {
                note(
                    "warning: clerk \(account.username!) cannot log in (\(CLIError.wrap(error)?.message ?? "\(error)")); is the server running with --dev?"
                )
            }
        }
        guard !shifts.isEmpty else { throw CLIError.usage("no demo clerk could log in: start the server with --dev") }
        return shifts
    }

    private func demoAccountsURL() throws -> URL {
        var candidates: [URL] = []
        if let accounts { candidates.append(URL(fileURLWithPath: accounts)) }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("seeds/demo-accounts.json"))
        // The checkout appcli was built from: Sources/appcli/Swarm/SwarmCommand.swift → ../../../seeds
        candidates.append(
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent()
                .appendingPathComponent("seeds/demo-accounts.json"))
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw CLIError.usage("cannot find seeds/demo-accounts.json; pass --accounts PATH")
        }
        return found
    }
}

/// Runs `body` over `items` with at most `width` at a time, keeping the order; shows a counter on stderr.
func inParallel<Item: Sendable, Result: Sendable>(
    _ items: [Item], width: Int, label: String, _ body: @escaping @Sendable (Item) async throws -> Result
) async throws -> [Result] {
    try await withThrowingTaskGroup(of: (Int, Result).self) { group in
        var results = [Result?](repeating: nil, count: items.count)
        var next = 0
        var done = 0
        while next < min(width, items.count) {
            let index = next
            group.addTask { (index, try await body(items[index])) }
            next += 1
        }
        while let (index, result) = try await group.next() {
            results[index] = result
            done += 1
            if isatty(STDERR_FILENO) != 0 { FileHandle.standardError.write(Data("\r\(label) \(done)/\(items.count)".utf8)) }
            if next < items.count {
                let index = next
                group.addTask { (index, try await body(items[index])) }
                next += 1
            }
        }
        if isatty(STDERR_FILENO) != 0 { FileHandle.standardError.write(Data("\n".utf8)) }
        return results.map { $0! }
    }
}

/// Runs a setup step, trying again (up to three times, after a short pause) when the server was busy or unreachable.
func retryingTransient<T>(_ body: () async throws -> T) async throws -> T {
    var attempt = 1
    while true {
        do {
            return try await body()
        } catch {
            guard attempt < 3, let failure = CLIError.wrap(error), failure.exitCode == ExitStatus.server else { throw error }
            try await Task.sleep(for: .milliseconds(300 * attempt))
            attempt += 1
        }
    }
}

/// `60s`, `2m`, `500ms`, `1.5s` or a plain number of seconds.
func parseDuration(_ text: String) throws -> Duration {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        if let value = Double(text.dropLast(suffix.count)), value >= 0 { return .milliseconds(Int(value * scale * 1000)) }
    }
    if let value = Double(text), value >= 0 { return .milliseconds(Int(value * 1000)) }
    throw ValidationError("'\(text)' is not a duration (e.g. 60s, 2m, 500ms)")
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
