import Foundation
import Histogram
import Synchronization

/// Runs an operation from `concurrency` tasks for `duration`, recording each call's latency (µs) in an HDR
/// histogram and counting failures by code.
struct LoadLoop {
    struct Result: Sendable {
        var name: String
        var histogram: Histogram<UInt64>
        var errors: [String: Int]
        var seconds: Double

        var completed: UInt64 { histogram.totalCount }
        var throughput: Double { Double(completed) / seconds }

        func percentileMillis(_ p: Double) -> Double { Double(histogram.valueAtPercentile(p)) / 1000 }
    }

    static func run(
        name: String, concurrency: Int, duration: Duration, operation: @escaping @Sendable (_ worker: Int, _ iteration: Int) async throws -> Void
    ) async -> Result {
        let merged = Accumulator()
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + duration
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var local = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                    var errors: [String: Int] = [:]
                    var iteration = 0
                    while clock.now < deadline {
                        let began = clock.now
                        do {
                            try await operation(worker, iteration)
                            let elapsed = clock.now - began
                            _ = local.record(
                                UInt64(max(1, elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000)))
                        } catch {
                            errors[LoadLoop.code(of: error), default: 0] += 1
                        }
                        iteration += 1
                    }
                    merged.state.withLock { state in
                        state.histogram.add(local)
                        state.errors.merge(errors, uniquingKeysWith: +)
                    }
                }
            }
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return merged.state.withLock { Result(name: name, histogram: $0.histogram, errors: $0.errors, seconds: seconds) }
    }

    static func code(of error: any Error) -> String {
        guard let error = CLIError.wrap(error) else { return String(describing: type(of: error)) }
        switch error {
        case .problem(let problem): return problem.code
        case .unexpected(let status): return "http_\(status)"
        case .rejected(let code, _): return code
        default: return error.jsonObject["code"] as? String ?? "error"
        }
    }
}

/// Totals shared by the workers of a load loop.
private final class Accumulator: Sendable {
    let state = Mutex(
        (histogram: Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three), errors: [String: Int]()))
}
