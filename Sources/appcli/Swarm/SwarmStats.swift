import Foundation
import Histogram
import OneTripAPI
import Synchronization

/// What a swarm measured: per operation an HDR histogram of latencies (µs) and failures by code, plus counters.
final class SwarmStats: Sendable {
    /// One operation's record.
    struct Operation: Sendable {
        var histogram = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
        /// Failures by code: server problem codes, mutator rejection codes, `unreachable`, …
        var failures: [String: Int] = [:]
    }

    /// Running totals the progress bar and the report show.
    struct Counters: Sendable {
        var mutationsApplied = 0
        var mutationsRejected = 0
        var casesCreated = 0
        var offlineEpisodes = 0
        var queuedOffline = 0
        var twoDeviceEdits = 0
        /// Two-device edits where both devices ended with the later edit (per-field last-writer-wins held).
        var twoDeviceConverged = 0
        var clerkActions = 0
        /// Phones offline right now.
        var offlineNow = 0
        /// Sums of the share of phones offline, sampled by the progress bar, for the mean.
        var offlineShareSum = 0.0
        var offlineShareSamples = 0
    }

    private let operations = Mutex([String: Operation]())
    private let totals = Mutex(Counters())

    /// Runs `body`, recording its latency under `name` when it succeeds and its failure code when it throws (rethrown).
    @discardableResult
    func measure<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let value = try await body()
            record(name, micros: Self.micros(clock.now - start))
            return value
        } catch {
            fail(name, code: Self.code(of: error))
            throw error
        }
    }

    func record(_ name: String, micros: UInt64) {
        operations.withLock { _ = $0[name, default: Operation()].histogram.record(max(1, micros)) }
    }

    func fail(_ name: String, code: String) {
        operations.withLock { $0[name, default: Operation()].failures[code, default: 0] += 1 }
    }

    func count(_ change: (inout Counters) -> Void) { totals.withLock { change(&$0) } }

    var counters: Counters { totals.withLock { $0 } }

    var snapshot: [String: Operation] { operations.withLock { $0 } }

    /// Successful operations so far (for the progress bar), excluding the setup phases.
    var completed: (ok: UInt64, failed: Int) {
        operations.withLock { all in
            all.filter { !Self.setupOperations.contains($0.key) }.values.reduce((UInt64(0), 0)) { sum, op in
                (sum.0 + op.histogram.totalCount, sum.1 + op.failures.values.reduce(0, +))
            }
        }
    }

    /// Operations of the setup and the final check, left out of the run's throughput.
    static let setupOperations: Set<String> = [
        "register", "login", "initial sync", "clerk login", "final sync", "convergence pull", "cases (REST check)",
    ]

    static func micros(_ duration: Duration) -> UInt64 {
        UInt64(max(0, duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000))
    }

    /// A short, stable code for a failure.
    static func code(of error: any Error) -> String {
        if error is CancellationError { return "cancelled" }
        guard let failure = CLIError.wrap(error) else { return String(describing: type(of: error)) }
        switch failure {
        case .problem(let problem): return problem.code
        case .unexpected(let status): return "http_\(status)"
        case .rejected(let code, _): return code
        case .unreachable: return "unreachable"
        case .notLoggedIn: return "not_logged_in"
        case .usage: return "usage"
        case .local(let detail): return detail.hasPrefix("sync refused") ? "sync_refused" : "local_error"
        }
    }
}
