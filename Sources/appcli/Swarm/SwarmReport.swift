import Foundation
import Histogram
import OneTripAPI

/// What `appcli swarm` prints at the end (text, or JSON with `--json`).
struct SwarmReport: Encodable {
    /// One operation's line.
    struct OperationLine: Encodable {
        var name: String
        var count: UInt64
        var perSecond: Double
        var p50Millis: Double
        var p90Millis: Double
        var p99Millis: Double
        var maxMillis: Double
        var failures: [String: Int]
    }

    var server: String
    var cores: Int
    var phones: Int
    var citizens: Int
    var twoDeviceCitizens: Int
    var clerks: Int
    var offlineRatio: Double
    var thinkSeconds: Double
    var setupSeconds: Double
    var runSeconds: Double
    /// Operations the phones made during the run (local ones included), and per second.
    var operations: Int
    var operationsPerSecond: Double
    /// Workbench calls the clerks made during the run, and per second.
    var clerkOperations: Int
    var clerkOperationsPerSecond: Double
    var mutationsApplied: Int
    var mutationsPerSecond: Double
    var mutationsRejected: Int
    var casesCreated: Int
    var clerkActions: Int
    var offlineEpisodes: Int
    /// The mean share of phones that were offline during the run (sampled).
    var offlineShare: Double
    var queuedOffline: Int
    var twoDeviceEdits: Int
    var twoDeviceConverged: Int
    var lines: [OperationLine]
    var failuresByCode: [String: Int]
    var devicesChecked: Int
    var devicesConverged: Int
    var casesChecked: Int
    var messagesChecked: Int
    var mismatches: [SwarmConvergence.DeviceResult]

    /// Whether everything converged: every device equals the server, and every two-device edit ended on the later edit.
    var converged: Bool { devicesConverged == devicesChecked && twoDeviceConverged == twoDeviceEdits }

    init(
        stats: SwarmStats, server: URL, phones: Int, citizens: Int, twoDeviceCitizens: Int, clerks: Int, offlineRatio: Double, think: Duration,
        setupSeconds: Double, runSeconds: Double, results: [SwarmConvergence.DeviceResult]
    ) {
        let counters = stats.counters
        let snapshot = stats.snapshot
        self.server = server.absoluteString
        cores = ProcessInfo.processInfo.activeProcessorCount
        self.phones = phones
        self.citizens = citizens
        self.twoDeviceCitizens = twoDeviceCitizens
        self.clerks = clerks
        self.offlineRatio = offlineRatio
        thinkSeconds = Double(think.components.seconds) + Double(think.components.attoseconds) / 1e18
        self.setupSeconds = setupSeconds
        self.runSeconds = runSeconds
        lines = snapshot.sorted { $0.key < $1.key }.map { name, operation in
            let histogram = operation.histogram
            let seconds = SwarmStats.setupOperations.contains(name) ? max(setupSeconds, 0.001) : max(runSeconds, 0.001)
            func millis(_ p: Double) -> Double { histogram.totalCount == 0 ? 0 : Double(histogram.valueAtPercentile(p)) / 1000 }
            return OperationLine(
                name: name, count: histogram.totalCount, perSecond: Double(histogram.totalCount) / seconds, p50Millis: millis(50),
                p90Millis: millis(90),
                p99Millis: millis(99), maxMillis: millis(100), failures: operation.failures)
        }
        let running = lines.filter { !SwarmStats.setupOperations.contains($0.name) }
        operations = Int(running.filter { !$0.name.hasPrefix("workbench.") }.reduce(0) { $0 + $1.count })
        operationsPerSecond = Double(operations) / max(runSeconds, 0.001)
        clerkOperations = Int(running.filter { $0.name.hasPrefix("workbench.") }.reduce(0) { $0 + $1.count })
        clerkOperationsPerSecond = Double(clerkOperations) / max(runSeconds, 0.001)
        mutationsApplied = counters.mutationsApplied
        mutationsPerSecond = Double(counters.mutationsApplied) / max(runSeconds, 0.001)
        mutationsRejected = counters.mutationsRejected
        casesCreated = counters.casesCreated
        clerkActions = counters.clerkActions
        offlineEpisodes = counters.offlineEpisodes
        offlineShare = counters.offlineShareSamples == 0 ? 0 : counters.offlineShareSum / Double(counters.offlineShareSamples)
        queuedOffline = counters.queuedOffline
        twoDeviceEdits = counters.twoDeviceEdits
        twoDeviceConverged = counters.twoDeviceConverged
        var codes: [String: Int] = [:]
        for line in lines { for (code, count) in line.failures { codes["\(line.name): \(code)", default: 0] += count } }
        failuresByCode = codes
        devicesChecked = results.count
        devicesConverged = results.filter(\.converged).count
        casesChecked = results.reduce(0) { $0 + $1.cases }
        messagesChecked = results.reduce(0) { $0 + $1.messages }
        mismatches = results.filter { !$0.converged }
    }

    /// The text report.
    func render() -> String {
        var out: [String] = []
        out.append(
            "OneTrip swarm against \(server) — \(cores) cores; \(phones) phones (\(citizens) citizens, \(twoDeviceCitizens) with two devices), "
                + "\(clerks) clerks, offline ratio \(String(format: "%.2f", offlineRatio)), think \(String(format: "%.2f", thinkSeconds)) s")
        out.append(String(format: "setup %.1f s (register, login, initial sync); run %.1f s", setupSeconds, runSeconds))
        out.append(
            String(
                format: "throughput: phones %d operations (%.1f/s), %d mutations applied (%.1f/s), %d rejected by the server, %d cases created; "
                    + "clerks %d workbench calls (%.1f/s), %d actions",
                operations, operationsPerSecond, mutationsApplied, mutationsPerSecond, mutationsRejected, casesCreated, clerkOperations,
                clerkOperationsPerSecond, clerkActions))
        out.append(
            String(format: "offline: %d episodes, %.0f%% of the phones offline on average, ", offlineEpisodes, offlineShare * 100)
                + "\(queuedOffline) changes queued offline; two-device edits: \(twoDeviceConverged)/\(twoDeviceEdits) ended on the later edit")
        out.append("")
        var table = Table(["operation", "count", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms", "failures"])
        for line in lines {
            table.append([
                line.name, "\(line.count)", String(format: "%.1f", line.perSecond), String(format: "%.1f", line.p50Millis),
                String(format: "%.1f", line.p90Millis), String(format: "%.1f", line.p99Millis), String(format: "%.1f", line.maxMillis),
                "\(line.failures.values.reduce(0, +))",
            ])
        }
        out.append(table.render())
        if !failuresByCode.isEmpty {
            out.append("")
            out.append("failures by code (rejections are the server's answers to races, e.g. a withdrawal after a decision):")
            for (code, count) in failuresByCode.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                out.append("  \(code) ×\(count)")
            }
        }
        out.append("")
        out.append(
            "convergence: \(devicesConverged)/\(devicesChecked) devices match the server (\(casesChecked) cases, \(messagesChecked) messages compared) — "
                + (converged ? "OK" : "FAILED"))
        for mismatch in mismatches.prefix(10) {
            out.append("  \(mismatch.device) (\(mismatch.accountId)): \(mismatch.problems.joined(separator: "; "))")
        }
        return out.joined(separator: "\n")
    }
}
