import Foundation
import Logging
import SQLKit
import SyncCore
import Synchronization

/// Pull and push (docs/ARCHITECTURE.md, "Delta sync") over the change log, for any schema: the capabilities'
/// persisters decide where entities live, `SyncAuthorization` who reads which scope.
struct SyncService: Sendable {
    let database: any Database
    let runner: MutationRunner
    let clients: SyncClients
    /// The server's hybrid logical clock: bounds the timestamps devices send.
    let clock: ServerClock
    /// Exact only in the single-process SQLite mode (see `HeadCache`).
    let headCache: HeadCache
    let runtime: Runtime

    /// Pages are bounded by rows and by bytes of entity JSON; an entity larger than the byte bound goes alone.
    static let defaultLimit = 500
    static let maxLimit = 2000
    static let maxPageBytes = 1 << 20
    static let maxMutationsPerPush = 500

    // MARK: Pull

    func pull(_ request: PullRequest, identity: Identity) async throws -> PullPage {
        // Every readable scope is served; the client's cursors say where it stands (a scope it never mentioned,
        // e.g. one its account gained since, starts at 0).
        for scope in request.cursors.keys where !SyncAuthorization.mayRead(scope, identity) {
            throw AppError(.scopeForbidden, "This account may not read the scope '\(scope)'.")
        }
        let wanted = Dictionary(uniqueKeysWithValues: SyncAuthorization.readableScopes(identity).map { ($0, 0) })
            .merging(request.cursors) { _, given in given }
        let scopes = wanted.keys.sorted()
        // Fast path: nothing new anywhere and nothing to reset — no query at all.
        if let known = headCache.heads(of: scopes), let last = headCache.lastMutation(of: request.clientID, for: identity),
            scopes.allSatisfy({ scope in
                let cursor = wanted[scope] ?? 0
                return cursor == known[scope]!.seq && (cursor == 0 || cursor >= known[scope]!.purged)
            })
        {
            return PullPage(changes: [], cursors: wanted, hasMore: false, reset: [], lastMutationID: last, serverHLC: clock.now())
        }
        // Heads, resets, the page and the client's last mutation id come from one snapshot: a compactor or a push
        // committing in between cannot make the page disagree with the heads or with `lastMutationId`.
        let (page, client, newEpochs) = try await database.snapshot { [headCache, clock] db in
            let client = try await SyncClients.row(request.clientID, on: db)
            if let client, client.accountID != identity.accountID { throw AppError(.clientMismatch, "This clientId belongs to another account.") }
            let heads = try await Self.heads(of: scopes, on: db)
            let stale = scopes.filter { scope in
                let cursor = wanted[scope] ?? 0
                return cursor > 0 && cursor < (heads[scope]?.purged ?? 0)
            }
            let stored = stale.isEmpty ? [:] : try await Self.resetEpochs(of: request.clientID, on: db)
            var cursors: [Scope: Int] = [:]
            var reset: [Scope] = []
            var newEpochs: [Scope: String] = [:]
            var pending: [(Scope, Int)] = []
            for scope in scopes {
                var cursor = wanted[scope] ?? 0
                let head = heads[scope] ?? HeadCache.Head(seq: 0, purged: 0)
                // Ahead of the server (restored from a backup), or behind the tombstone horizon without the epoch of a
                // re-download in progress: start the scope over.
                let resuming = stale.contains(scope) && request.epochs[scope] != nil && request.epochs[scope] == stored[scope]
                if cursor > head.seq || (stale.contains(scope) && !resuming) {
                    reset.append(scope)
                    newEpochs[scope] = Self.newEpoch()
                    cursor = 0
                }
                cursors[scope] = cursor
                if cursor < head.seq { pending.append((scope, cursor)) }
            }
            let (changes, hasMore) = try await Self.page(pending, limit: request.limit, cursors: &cursors, on: db)
            let last = client?.lastMutationID ?? 0
            if let client { headCache.learn(client: request.clientID, client) }
            headCache.learn(heads.merging(scopes.filter { heads[$0] == nil }.map { ($0, HeadCache.Head(seq: 0, purged: 0)) }) { a, _ in a })
            let page = PullPage(
                changes: changes, cursors: cursors, hasMore: hasMore, reset: reset, resetEpochs: newEpochs, lastMutationID: last,
                serverHLC: clock.now())
            return (page, client, newEpochs)
        }
        if client == nil || client?.deviceID != identity.deviceID {
            try await clients.bindForPull(request.clientID, found: client, identity: identity, database: database)
        }
        if !newEpochs.isEmpty { try await recordResets(newEpochs, clientID: request.clientID) }
        return page
    }

    /// Changes after each scope's cursor, in order, bounded by `limit` rows and `maxPageBytes` of JSON.
    private static func page(_ pending: [(Scope, Int)], limit: Int, cursors: inout [Scope: Int], on db: any SQLDatabase) async throws
        -> (changes: [Change], hasMore: Bool)
    {
        var changes: [Change] = []
        var bytes = 0
        for (scope, cursor) in pending {
            let room = limit - changes.count
            if room <= 0 || bytes >= maxPageBytes { return (changes, true) }
            let rows = try await db.raw(
                """
                SELECT seq, entity_type, entity_id, op, version, data FROM changes
                WHERE scope = \(bind: scope.rawValue) AND seq > \(bind: cursor) ORDER BY seq LIMIT \(bind: room + 1)
                """
            ).all()
            for (index, row) in rows.enumerated() {
                let change = try Self.change(row, scope: scope)
                let size = change.data?.count ?? 0
                // The next entity would overflow the page: it opens the next one (an entity alone may exceed it).
                if index == room || (!changes.isEmpty && bytes + size > maxPageBytes) { return (changes, true) }
                bytes += size
                changes.append(change)
                cursors[scope] = change.seq
            }
        }
        return (changes, false)
    }

    private static func resetEpochs(of clientID: String, on db: any SQLDatabase) async throws -> [Scope: String] {
        var epochs: [Scope: String] = [:]
        for row in try await db.select().columns("scope", "epoch").from("sync_resets").where("client_id", .equal, clientID).all() {
            if let scope = Scope(try row.decode(column: "scope", as: String.self)) {
                epochs[scope] = try row.decode(column: "epoch", as: String.self)
            }
        }
        return epochs
    }

    /// Remembers the epochs of the resets handed out (a lost answer just means the next pull gets a new reset).
    private func recordResets(_ epochs: [Scope: String], clientID: String) async throws {
        try await database.transaction { db in
            for (scope, epoch) in epochs.sorted(by: { $0.key < $1.key }) {
                try await db.insert(into: "sync_resets").columns("client_id", "scope", "epoch").values(
                    SQLBind(clientID), SQLBind(scope.rawValue), SQLBind(epoch)
                )
                .onConflict(with: ["client_id", "scope"]) { $0.set(excludedValueOf: "epoch") }.run()
            }
        }
    }

    private static func newEpoch() -> String { UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16).description }

    /// Heads of `scopes`: their newest sequence number and the compaction horizon.
    static func heads(of scopes: [Scope], on db: any SQLDatabase) async throws -> [Scope: HeadCache.Head] {
        guard !scopes.isEmpty else { return [:] }
        let rows = try await db.select().columns("scope", "seq", "purged_seq").from("scope_heads").where("scope", .in, scopes.map(\.rawValue)).all()
        var heads: [Scope: HeadCache.Head] = [:]
        for row in rows {
            guard let scope = Scope(try row.decode(column: "scope", as: String.self)) else { continue }
            heads[scope] = HeadCache.Head(
                seq: try row.decode(column: "seq", as: Int.self), purged: try row.decode(column: "purged_seq", as: Int.self))
        }
        return heads
    }

    private static func change(_ row: any SQLRow, scope: Scope) throws -> Change {
        Change(
            scope: scope, seq: try row.decode(column: "seq", as: Int.self), type: EntityType(try row.decode(column: "entity_type", as: String.self)),
            id: try row.decode(column: "entity_id", as: String.self),
            op: Change.Operation(rawValue: try row.decode(column: "op", as: String.self)) ?? .upsert,
            version: try row.decode(column: "version", as: Int.self), data: try row.decode(column: "data", as: String?.self).map { Array($0.utf8) }
        )
    }

    // MARK: Push

    /// Applies `mutations` in order, exactly once each, in one transaction. Each runs in its own savepoint: a
    /// rejection — or a fault while applying it — writes nothing but still advances the client's last id, so it
    /// never blocks the ones after it. Every verdict is stored, so a retried id gets its first answer.
    func push(clientID: String, mutations: [PendingMutation], identity: Identity, logger: Logger? = nil) async throws -> PushOutcome {
        let outcome = try await database.transaction { [runner, clients, clock, runtime] db in
            var last = try await clients.lock(clientID, identity: identity, on: db)
            var results: [MutationResult] = []
            var log = ChangeLogView(db: db)
            for mutation in mutations {
                if mutation.id <= last {
                    results.append(try await Verdicts.replay(mutation, clientID: clientID, on: db))
                    continue
                }
                if mutation.id != last + 1 {
                    results.append(
                        .rejected(
                            mutation.id,
                            MutationRejection(.outOfOrder, "Expected mutation \(last + 1) next; resend from there (renumber if yours are ahead).")))
                    continue
                }
                last = mutation.id
                let context = MutationContext(
                    accountID: identity.accountID, role: identity.kind, clientID: clientID, hlc: clock.admit(mutation.hlc, from: clientID),
                    now: runtime.nowMillis, authoritative: true)
                let result: MutationResult
                do {
                    result = try await db.withSavepoint {
                        switch try await runner.run(mutation.name, args: mutation.args, context: context, on: log) {
                        case .success(let records):
                            log.pending += records
                            return MutationResult(id: mutation.id, status: .applied)
                        case .failure(let rejection):
                            // Thrown so the savepoint rolls back whatever the run wrote before it refused.
                            throw rejection
                        }
                    }
                } catch let rejection as MutationRejection {
                    result = .rejected(mutation.id, rejection)
                } catch let error where !(error is CancellationError) && !PostgresDatabaseStore.isRetryable(error) {
                    logger?.error("mutation failed", metadata: ["sync.mutation": "\(mutation.name)", "error": "\(String(reflecting: error))"])
                    result = .rejected(
                        mutation.id, MutationRejection(.internalError, "The server could not apply this mutation; it was not applied."))
                }
                results.append(result)
                try await Verdicts.record(result, digest: Verdicts.digest(mutation), clientID: clientID, now: runtime.now(), on: db)
            }
            try await ChangeLog.append(log.pending, on: db, now: runtime.now())
            try await db.update("sync_clients").set("last_mutation_id", to: last).set("updated_at", to: runtime.now())
                .where("client_id", .equal, clientID).run()
            return PushOutcome(results: results, lastMutationID: last)
        }
        headCache.learn(client: clientID, .init(accountID: identity.accountID, deviceID: identity.deviceID, lastMutationID: outcome.lastMutationID))
        return outcome
    }

    // MARK: Mutations for REST routes

    /// Runs `body` in one transaction with a batch that runs mutators for `identity` (stamped by the server's clock);
    /// their changes are appended when `body` returns. A rejection throws the matching `AppError`, rolling back.
    func transaction<T: Sendable>(for identity: Identity, _ body: @Sendable (inout MutationBatch) async throws -> T) async throws -> T {
        try await database.transaction { [runner, clock, runtime] db in
            let context = MutationContext(
                accountID: identity.accountID, role: identity.kind, clientID: "server", hlc: clock.now(), now: runtime.nowMillis, authoritative: true)
            var batch = MutationBatch(runner: runner, context: context, log: ChangeLogView(db: db))
            let result = try await body(&batch)
            try await ChangeLog.append(batch.log.pending, on: db, now: runtime.now())
            return result
        }
    }

    /// Forgets verdicts past their retention window (a periodic job).
    func purgeVerdicts() async throws -> Int {
        let cutoff = runtime.now() - Int(Verdicts.retention.components.seconds) * 1000
        return try await database.transaction { db in try await Verdicts.purge(before: cutoff, on: db) }
    }
}

/// Mutator runs inside one REST transaction (see `SyncService.transaction(for:_:)`).
struct MutationBatch: Sendable {
    let runner: MutationRunner
    let context: MutationContext
    var log: ChangeLogView

    /// Runs mutator `name`; a rejection becomes the `AppError` an app expects.
    mutating func run(_ name: String, args: some Encodable) async throws {
        switch try await runner.run(name, args: SyncJSON.encode(args), context: context, on: log) {
        case .success(let records): log.pending += records
        case .failure(let rejection): throw AppError(rejection)
        }
    }

    /// An entity as this batch left it (in `scope`), decoded.
    func entity<E: SyncEntity>(_ type: E.Type, id: String, in scope: Scope) async throws -> E? {
        try await log.entity(EntityKey(E.entityType, id), in: scope, locking: false).map { try SyncJSON.decoder.decode(E.self, from: Data($0)) }
    }
}

/// The server's HLC, shared by every request of this instance.
final class ServerClock: Sendable {
    private let clock: Mutex<HybridLogicalClock>

    init(wallClock: @escaping @Sendable () -> Int64 = HybridLogicalClock.systemMillis) {
        clock = Mutex(HybridLogicalClock(node: "server", wallClock: wallClock))
    }

    func now() -> HLC { clock.withLock { $0.tick() } }

    /// The timestamp to record for a device's edit: bounded skew (see `HybridLogicalClock.admit`), and the
    /// tie-breaking node is the client id the server authenticated, never what the device wrote into the stamp.
    func admit(_ remote: HLC, from clientID: String) -> HLC { clock.withLock { $0.admit(remote) }.withNode(clientID) }
}
