import ArgumentParser
import AsyncHTTPClient
import Foundation
import OpenAPIRuntime
import SyncCore
import Synchronization

/// `appcli bench`: measures the sync budgets (BENCHMARKS.md) against a running server, each as a ratio to a
/// baseline measured in the same run on the same machine. Start the server with `scripts/bench`, which seeds a
/// 10,000-matter catalog and lowers the bcrypt cost so that registering hundreds of phones is quick. The `wallet`
/// phase runs in-process and needs no server (`scripts/bench-wallet` compares it with the Python reference).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure sync throughput and latency against a server, and the wallet's issue and verify rates in-process.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Seconds per throughput phase.") var duration: Int = 10
    @Option(help: "Concurrent requests for the pull and hello phases.") var concurrency: Int = 32
    @Option(help: "Simulated phones for the push phase.") var phones: Int = 200
    @Option(help: "Mutations per push (a phone's queued edits).") var batch: Int = 5
    @Option(help: "Phases to run: hello,pull,initial,push against the server; wallet in-process, without one (comma-separated).")
    var phases: String = "hello,pull,initial,push"

    static let serverPhases: Set<String> = ["hello", "pull", "initial", "push"]

    func run() async throws {
        let wanted = Set(phases.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let unknown = wanted.subtracting(Self.serverPhases.union(["wallet"]))
        guard unknown.isEmpty else { throw CLIError.usage("unknown phases \(unknown.sorted().joined(separator: ", ")); see --help") }
        if !wanted.isDisjoint(with: Self.serverPhases) { try await measureServer(wanted) }
        if wanted.contains("wallet") {
            if wanted == ["wallet"] {
                print("OneTrip bench in-process — \(ProcessInfo.processInfo.activeProcessorCount) cores, \(duration)s per phase")
            }
            WalletBench.report(try WalletBench.run(duration: .seconds(duration)))
        }
    }

    private func measureServer(_ wanted: Set<String>) async throws {
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(concurrency, phones))))
        do {
            try await measure(http: http, wanted: wanted)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    private func measure(http: HTTPClient, wanted: Set<String>) async throws {
        let server = try global.serverURL
        print("OneTrip bench against \(server) — \(ProcessInfo.processInfo.activeProcessorCount) cores, \(duration)s per phase")
        var hello: LoadLoop.Result?
        if wanted.contains("hello") || wanted.contains("pull") {
            let connection = APIConnection(serverURL: server, http: http)
            hello = await LoadLoop.run(name: "GET /healthz (hello-world baseline)", concurrency: concurrency, duration: .seconds(duration)) { _, _ in
                guard case .ok = try await connection.client.getHealth() else { throw CLIError.unexpected(0) }
            }
            report(hello!)
        }
        if wanted.contains("pull") {
            let phone = try await BenchPhone.register(server: server, http: http, label: "bench-pull")
            let cursors = try await phone.catchUp()
            let result = await LoadLoop.run(
                name: "POST /v1/sync/pull (up to date, authenticated)", concurrency: concurrency, duration: .seconds(duration)
            ) { _, _ in
                let page = try await phone.pull(cursors: cursors, limit: 500)
                guard page.changes.isEmpty else { throw CLIError.unexpected(-1) }
            }
            report(result)
            if let hello {
                let ratio = result.throughput / hello.throughput
                print(String(format: "  ratio to hello-world: %.2f (budget ≥ 0.50) %@", ratio, ratio >= 0.5 ? "PASS" : "MISS"))
            }
        }
        if wanted.contains("initial") {
            let phone = try await BenchPhone.register(server: server, http: http, label: "bench-initial")
            let result = try await InitialSyncBench.run(phone: phone, http: http, server: server)
            let rate = Double(result.entities) / result.seconds
            print("initial sync into a fresh replica (\(result.entities) entities, \(result.pages) pages)")
            print(
                String(
                    format: "  %.2f s (budget ≤ 1 s) %@   %.0f entities/s (budget ≥ 20000) %@", result.seconds, result.seconds <= 1 ? "PASS" : "MISS",
                    rate, rate >= 20000 ? "PASS" : "MISS"))
            print(
                String(
                    format: "  page payload / entity JSON: %.2f (budget ≤ 1.20) %@", result.payloadRatio, result.payloadRatio <= 1.2 ? "PASS" : "MISS"
                ))
        }
        if wanted.contains("push") {
            print("registering \(phones) phones…")
            var fleet: [BenchPhone] = []
            for index in 0..<phones {
                fleet.append(try await BenchPhone.register(server: server, http: http, label: "bench-\(index)"))
                if index % 20 == 19 { FileHandle.standardError.write(Data("\r  \(index + 1)/\(phones)".utf8)) }
            }
            FileHandle.standardError.write(Data("\n".utf8))
            let phonesArray = fleet
            let batch = self.batch
            let applied = Counter()
            let result = await LoadLoop.run(
                name: "POST /v1/sync/push (\(batch) mutations each, \(phones) phones)", concurrency: phones, duration: .seconds(duration)
            ) { worker, iteration in
                let outcome = try await phonesArray[worker].pushEdits(count: batch, iteration: iteration)
                applied.add(outcome)
            }
            report(result)
            let perSecond = Double(applied.value) / result.seconds
            let p99 = result.percentileMillis(99)
            print(String(format: "  applied mutations/s: %.0f (budget ≥ 2000) %@", perSecond, perSecond >= 2000 ? "PASS" : "MISS"))
            print(String(format: "  p99 push latency: %.1f ms (budget ≤ 50) %@", p99, p99 <= 50 ? "PASS" : "MISS"))
        }
    }

    private func report(_ result: LoadLoop.Result) {
        print(result.name)
        print(
            String(
                format: "  %.0f req/s   p50 %.2f ms   p90 %.2f ms   p99 %.2f ms   max %.2f ms   (%llu ok)", result.throughput,
                result.percentileMillis(50),
                result.percentileMillis(90), result.percentileMillis(99), result.percentileMillis(100), result.completed
            )
        )
        if !result.errors.isEmpty {
            print("  errors: \(result.errors.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", "))")
        }
    }
}

final class Counter: Sendable {
    private let storage = Mutex(0)
    func add(_ n: Int) { storage.withLock { $0 += n } }
    var value: Int { storage.withLock { $0 } }
}
