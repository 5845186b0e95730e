/// Knobs of a sync run; the defaults suit a phone on a mobile network.
public struct SyncOptions: Sendable {
    /// Changes asked for per pull page (the server caps it, 2,000 today).
    public var pageLimit: Int
    /// Mutations per push (the server accepts up to 500).
    public var pushBatchSize: Int
    /// Tries per request, counting the first, for transient failures.
    public var maxAttempts: Int
    /// The wait before the first retry; it doubles for each further one.
    public var baseDelay: Duration
    /// How to wait between tries (tests inject one that returns at once).
    public var sleep: @Sendable (Duration) async throws -> Void

    /// Options with the given values; by default 1,000 changes a page, 100 mutations a push, 5 tries from 200 ms.
    public init(
        pageLimit: Int = 1000, pushBatchSize: Int = 100, maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(200),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.pageLimit = pageLimit
        self.pushBatchSize = pushBatchSize
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.sleep = sleep
    }

    /// The back-off before retry number `retry` (1-based): base, 2×base, 4×base, …
    public func delay(beforeRetry retry: Int) -> Duration { baseDelay * (1 << max(0, retry - 1)) }
}

/// What one sync did.
public struct SyncReport: Sendable, Equatable {
    /// Mutations sent to the server.
    public var pushed = 0
    /// Of those, how many the server applied (or had already applied).
    public var applied = 0
    /// Mutations that became rejected: by the server, or by a rebase on newer state.
    public var rejected = 0
    /// Pull pages applied.
    public var pages = 0
    /// Changes received in those pages.
    public var entities = 0
    /// Requests retried after a transient failure.
    public var retries = 0
    /// Scopes the server told the replica to re-download.
    public var resetScopes: [Scope] = []
    /// Mutations given new ids and pushed again (the server held their ids for others, or had lost them).
    public var renumbered = 0
    /// Whether the replica took a new client id because the server found its old one in use by a copy.
    public var startedNewClient = false

    /// An empty report.
    public init() {}
}

/// Where a running sync is, for a progress bar.
public struct SyncProgress: Sendable, Equatable {
    /// Pull pages applied so far.
    public var pages: Int
    /// Changes applied so far.
    public var entities: Int
    /// Whether the server has more.
    public var hasMore: Bool
}

/// A sync that cannot finish by trying again.
public enum SyncEngineError: Error, Equatable, Sendable {
    /// The server said there is more but moved no cursor.
    case stalled
    /// The server reset the same scope twice in one sync (a re-download paged below the tombstone horizon).
    case resetLoop(Scope)
    /// The server kept answering renumbered mutations with colliding ids; they stay queued for the next sync.
    case renumberLoop
}

/// Brings a replica and the server together: pushes the outbox, then pulls until up to date.
/// Calls made while a sync is running join it instead of starting a second one.
public actor SyncEngine {
    /// The replica this engine syncs.
    public nonisolated let replica: Replica
    /// How it reaches the server.
    public nonisolated let transport: SyncTransport
    /// Paging, batching and retry settings.
    public nonisolated let options: SyncOptions
    private var running: Task<SyncReport, any Error>?

    /// An engine for `replica` over `transport`.
    public init(replica: Replica, transport: SyncTransport, options: SyncOptions = SyncOptions()) {
        self.replica = replica
        self.transport = transport
        self.options = options
    }

    /// Pushes every pending mutation (in batches), then applies pull pages until `hasMore` is false; transient
    /// failures are retried with exponential back-off. `progress` hears about each applied page. A push refused
    /// outright (`.permanent`, or `.refused` with another code than `client_cloned`) is thrown after the pull, so the
    /// replica still catches up. Mutations whose ids collide with the server's are renumbered and pushed again in the
    /// same sync; a `client_cloned` refusal makes the replica take a new client id, and the sync runs once more.
    @discardableResult
    public func sync(progress: (@Sendable (SyncProgress) -> Void)? = nil) async throws -> SyncReport {
        if let running { return try await running.value }
        let run = SyncRun(replica: replica, transport: transport, options: options, progress: progress)
        let task = Task { try await run.execute() }
        running = task
        defer { running = nil }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }
}

/// One sync, off the engine's actor (the replica's writes block their thread).
private struct SyncRun: Sendable {
    let replica: Replica
    let transport: SyncTransport
    let options: SyncOptions
    let progress: (@Sendable (SyncProgress) -> Void)?

    /// Renumberings of pushed mutations one sync may make before it leaves the rest to the next sync.
    static let maxRenumberings = 3

    func execute() async throws -> SyncReport {
        var report = SyncReport()
        var rejected = Set<Int>()
        do {
            try await round(&report, &rejected)
        } catch let error as SyncTransportError where error.isClientCloned {
            // The replica was copied and the other copy holds the client id: continue under a new one.
            try replica.startNewClient()
            report.startedNewClient = true
            rejected = []
            try await round(&report, &rejected)
        }
        report.rejected = rejected.count
        return report
    }

    /// Push, then pull; once more when the last page showed the server had lost applied mutations (restored).
    private func round(_ report: inout SyncReport, _ rejected: inout Set<Int>) async throws {
        var renumberings = 0
        for attempt in 1...2 {
            // A push the server refuses outright must not cut the device off from updates: pull, then report it.
            var refusal: (any Error)?
            do {
                try await push(&report, &rejected, &renumberings)
            } catch let error as SyncTransportError where Self.isFinalPushRefusal(error) {
                refusal = error
            } catch let error as SyncEngineError {
                refusal = error
            }
            let renumbered = try await pull(&report, &rejected)
            if let refusal { throw refusal }
            guard renumbered > 0, attempt == 1 else { return }
            report.renumbered += renumbered
        }
    }

    /// Refusals after which pulling still makes sense; transient failures and `client_cloned` end the round.
    private static func isFinalPushRefusal(_ error: SyncTransportError) -> Bool {
        switch error {
        case .permanent: true
        case .refused: !error.isClientCloned
        case .transient, .offline: false
        }
    }

    private func push(_ report: inout SyncReport, _ rejected: inout Set<Int>, _ renumberings: inout Int) async throws {
        var after = 0
        while true {
            // Each id is sent once per numbering: ids only grow from batch to batch, so a server that leaves some
            // unanswered cannot make this loop.
            let batch = try replica.pendingMutations(after: after, limit: max(1, options.pushBatchSize))
            guard let last = batch.last else { return }
            let clientID = replica.clientID
            let outcome = try await retrying(&report) { try await transport.push(clientID, batch) }
            let update = try replica.apply(outcome)
            report.pushed += batch.count
            for result in outcome.verdicts {
                if result.status == .rejected { rejected.insert(result.id) } else { report.applied += 1 }
            }
            rejected.formUnion(update.rejected)
            if update.renumbered > 0 {
                // Ids taken by another copy of this replica, or lost by a restored server: send them under new ids.
                renumberings += 1
                report.renumbered += update.renumbered
                guard renumberings <= Self.maxRenumberings else { throw SyncEngineError.renumberLoop }
                after = 0
                continue
            }
            // The server stopped short (a gap in ids): pull, and the next sync resends from where it stopped.
            if outcome.lastMutationID < last.id { return }
            after = last.id
        }
    }

    /// Pulls until up to date; returns how many applied mutations the last page showed the server had lost.
    private func pull(_ report: inout SyncReport, _ rejected: inout Set<Int>) async throws -> Int {
        // Resets are acknowledged by sending their epochs back, so the server resets a scope once per re-download:
        // the same scope reset twice in one pull is a loop, not progress.
        var resetThisRun = Set<Scope>()
        while true {
            let request = try replica.pullRequest(limit: options.pageLimit)
            let page = try await retrying(&report) { try await transport.pull(request) }
            for scope in page.reset where !resetThisRun.insert(scope).inserted {
                throw SyncEngineError.resetLoop(scope)
            }
            let update = try replica.apply(page)
            report.pages += 1
            report.entities += page.changes.count
            report.resetScopes += page.reset
            rejected.formUnion(update.rejected)
            progress?(SyncProgress(pages: report.pages, entities: report.entities, hasMore: page.hasMore))
            guard page.hasMore else { return update.renumbered }
            if page.changes.isEmpty && page.reset.isEmpty, try replica.cursors() == request.cursors { throw SyncEngineError.stalled }
        }
    }

    private func retrying<T: Sendable>(_ report: inout SyncReport, _ operation: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch let error as SyncTransportError where error.isTransient && attempt < options.maxAttempts {
                try await options.sleep(options.delay(beforeRetry: attempt))
                report.retries += 1
                attempt += 1
            }
        }
    }
}
