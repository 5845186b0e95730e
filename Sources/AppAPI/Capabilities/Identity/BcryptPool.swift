import Foundation
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// bcrypt's own threads. A hash takes a quarter of a second at cost 12, so hashes must never wait in (or make wait)
/// the shared `NIOThreadPool.singleton`, where sqlite-nio runs every SQLite query. The queue is bounded: past
/// `threads + maxQueued` jobs in flight a request is refused at once (503 `server_busy` with `Retry-After`) instead
/// of queueing for ever behind a flood.
final class BcryptPool: Sendable {
    /// The pool is full; the caller should answer 503 with `Retry-After: retryAfter` seconds.
    struct Overloaded: Error, Sendable {
        var retryAfter: Int
    }

    /// Worker threads.
    let threads: Int
    /// Jobs that may wait for a worker.
    let maxQueued: Int
    private let pool: NIOThreadPool
    private let inFlight = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    /// Seconds one job took, on average lately; `nil` until the first job ran.
    private let measuredSeconds = Mutex<Double?>(nil)

    /// Half the cores by default (at least one), so request handling and queries keep the other half; 8 waiting jobs per
    /// thread, about two seconds of waiting at cost 12.
    static var defaultThreads: Int { max(1, System.coreCount / 2) }
    static func defaultMaxQueued(threads: Int) -> Int { 8 * threads }

    init(threads: Int = BcryptPool.defaultThreads, maxQueued: Int? = nil) {
        self.threads = max(1, threads)
        self.maxQueued = max(0, maxQueued ?? Self.defaultMaxQueued(threads: threads))
        self.pool = NIOThreadPool(numberOfThreads: self.threads)
        pool.start()
    }

    /// Runs `work` on a bcrypt thread, or throws `Overloaded` when the queue is full.
    func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        try await admitted {
            try await self.pool.runIfActive {
                let started = ContinuousClock.now
                let result = work()
                self.record(ContinuousClock.now - started)
                self.completed.add(1, ordering: .relaxed)
                return result
            }
        }
    }

    /// bcrypt computations done so far (imitations not counted).
    var computations: Int { completed.load(ordering: .relaxed) }

    /// Holds a worker for as long as a job usually takes, without using the CPU: what a registration for a taken
    /// identifier does, so it waits in the same queue and answers in the same time as one that hashes.
    func imitate() async throws {
        let seconds = meanSeconds
        try await admitted {
            try await self.pool.runIfActive { Thread.sleep(forTimeInterval: seconds) }
        }
    }

    /// Stops the threads after the queued jobs ran.
    func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    private func admitted<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let count = inFlight.add(1, ordering: .acquiringAndReleasing).newValue
        defer { inFlight.subtract(1, ordering: .acquiringAndReleasing) }
        guard count <= threads + maxQueued else {
            let waiting = Double(count - threads) * meanSeconds / Double(threads)
            throw Overloaded(retryAfter: max(1, Int(waiting.rounded(.up))))
        }
        return try await body()
    }

    /// A cost-12 hash (0.25 s) until the first job was measured.
    private var meanSeconds: Double { measuredSeconds.withLock { $0 } ?? 0.25 }

    private func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let measured = Double(seconds) + Double(attoseconds) / 1e18
        // An exponential moving average: follows a changed cost or a loaded machine within a few dozen hashes.
        measuredSeconds.withLock { $0 = $0.map { $0 * 0.9 + measured * 0.1 } ?? measured }
    }
}

/// Stops the bcrypt threads when the server has drained.
struct BcryptPoolService: Service {
    let pool: BcryptPool

    func run() async throws {
        try? await gracefulShutdown()
        await pool.shutdown()
    }
}
