import Dispatch
import Foundation
import OpenAPIRuntime
import SyncCore
import Synchronization

/// `appcli sync --watch`: syncs once, then whenever `GET /v1/sync/events` pokes a scope beyond the replica's cursor.
/// Pokes are hints: when the stream drops (or cannot be opened) the watcher syncs and polls every `pollInterval`,
/// trying to reconnect before each poll. Stops after `duration`, or on Ctrl-C, and says what it did.
struct SyncWatcher {
    /// What a watch did.
    struct Summary: Encodable {
        var seconds: Double
        var syncs: Int
        var pokes: Int
        var entities: Int
        var pushed: Int
        var reconnects: Int
    }

    /// One `event: poke` payload.
    private struct Poke: Decodable, Sendable, Hashable {
        var scope: String
        var seq: Int
    }

    let session: Session
    let pollInterval: Duration
    let json: Bool

    /// Watches until `duration` passes (nil: until Ctrl-C).
    func run(for duration: Duration?) async throws -> Summary {
        let started = ContinuousClock.now
        let tally = Tally(Summary(seconds: 0, syncs: 0, pokes: 0, entities: 0, pushed: 0, reconnects: 0))
        let work = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await loop(tally) }
                if let duration { group.addTask { try await Task.sleep(for: duration) } }
                // Whichever ends first (the deadline or a failure of the loop) ends the watch.
                try await group.next()
                group.cancelAll()
            }
        }
        let interrupted = Locked(false)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        signal(SIGINT, SIG_IGN)
        interrupt.setEventHandler {
            interrupted.withLock { $0 = true }
            work.cancel()
        }
        interrupt.resume()
        defer {
            interrupt.cancel()
            signal(SIGINT, SIG_DFL)
        }
        do {
            try await work.value
        } catch {
            // Ctrl-C cancels whatever was in flight; that is the normal way to stop, not a failure.
            if !interrupted.value && !(error is CancellationError) { throw error }
        }
        var summary = tally.value
        let elapsed = ContinuousClock.now - started
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return summary
    }

    /// Counters shared by the watch's tasks.
    private typealias Tally = Locked<Summary>

    private func loop(_ tally: Tally) async throws {
        try await syncAndLog(tally, reason: "start")
        while !Task.isCancelled {
            do {
                try await listen(tally)
                note("note: the event stream ended; reconnecting")
            } catch let error where !(error is CancellationError) && CLIError.wrap(error)?.exitCode != ExitStatus.auth {
                note("note: no event stream (\(CLIError.wrap(error)?.message ?? "\(error)")); polling every \(pollInterval)")
            }
            try await Task.sleep(for: pollInterval)
            tally.withLock { $0.reconnects += 1 }
            try await syncAndLog(tally, reason: "poll")
        }
    }

    /// Follows the event stream, syncing on each poke the replica has not caught up with.
    private func listen(_ tally: Tally) async throws {
        let output = try await session.client.syncEvents()
        guard case .ok(let ok) = output else { throw CLIError.from(output) }
        let events = try ok.body.textEventStream.asDecodedServerSentEventsWithJSONData(of: Poke.self)
        for try await event in events where event.event == "poke" {
            guard let poke = event.data, let scope = Scope(poke.scope) else { continue }
            tally.withLock { $0.pokes += 1 }
            if poke.seq > (try session.replica.cursors()[scope] ?? 0) {
                try await syncAndLog(tally, reason: "poke \(scope)")
            }
        }
    }

    /// One sync; an unreachable server is reported and waited out, a lost session ends the watch.
    private func syncAndLog(_ tally: Tally, reason: String) async throws {
        let report: SyncReport
        do {
            report = try await session.sync()
        } catch {
            guard let failure = CLIError.wrap(error), failure.exitCode == ExitStatus.server else { throw error }
            note("note: sync failed (\(failure.message)); will retry")
            return
        }
        tally.withLock {
            $0.syncs += 1
            $0.entities += report.entities
            $0.pushed += report.pushed
        }
        guard report.entities > 0 || report.pushed > 0 else { return }
        if json {
            let line = WatchLine(
                at: ChinaTime.minute(ChinaTime.nowMillis), reason: reason, pushed: report.pushed, pulled: report.entities, rejected: report.rejected)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(line), as: UTF8.self))
        } else {
            print(
                "[\(ChinaTime.minute(ChinaTime.nowMillis))] \(reason): pushed \(report.pushed), pulled \(report.entities)"
                    + (report.rejected > 0 ? ", rejected \(report.rejected)" : ""))
        }
        fflush(nil)
    }

    private struct WatchLine: Encodable {
        var at: String
        var reason: String
        var pushed: Int
        var pulled: Int
        var rejected: Int
    }
}
