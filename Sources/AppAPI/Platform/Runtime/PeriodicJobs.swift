import Logging
import ServiceLifecycle

/// Work that runs every `interval` while the server is up (tombstone compaction, 容缺 terminations, purges).
struct PeriodicJob: Sendable {
    var name: String
    var interval: Duration
    /// Does one round; returns a line worth logging, or `nil` when there was nothing to do.
    var run: @Sendable () async throws -> String?
}

/// Runs every registered job on its own schedule, first right after start; ends quietly on graceful shutdown.
/// A failing round is logged and retried at the next interval.
struct PeriodicJobService: Service {
    let jobs: [PeriodicJob]
    let logger: Logger

    func run() async throws {
        await withDiscardingTaskGroup { group in
            for job in jobs {
                group.addTask { await loop(job) }
            }
        }
    }

    private func loop(_ job: PeriodicJob) async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if let line = try await job.run() { logger.info("\(job.name): \(line)") }
            } catch {
                logger.warning("\(job.name) failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            // A sleep cut short by shutdown is not a failure.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: job.interval) }
        }
    }
}
