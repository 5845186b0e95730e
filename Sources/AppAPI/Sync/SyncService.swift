import Foundation
import Logging
import SQLKit
import Synchronization
import SyncCore

/// Pull and push (DESIGN.md §4) over the change log.
struct SyncService: Sendable {
    let database: any Database
    /// The server's hybrid logical clock: bounds the timestamps devices send.
    let clock: ServerClock
    let cases: CaseStore

    /// Exact only in the single-process SQLite mode (see `HeadCache`).
    var headCache: HeadCache { database.notifier.heads }

    /// Pages are bounded by rows and by bytes of entity JSON.
    static let defaultLimit = 500
    static let maxLimit = 2000
    static let maxPageBytes = 1 << 20

    // MARK: Pull

    struct PullRequest: Sendable {
        var clientID: String
        /// `nil`: every readable scope from the start.
        var cursors: [Scope: Int]?
        var limit: Int
    }

    func pull(_ request: PullRequest, identity: Identity) async throws -> PullPage {
        // Every readable scope is served; the client's cursors say where it stands (a scope it never mentioned,
        // e.g. one its account gained since, starts at 0).
        for scope in (request.cursors ?? [:]).keys where !SyncAuthorization.mayRead(scope, identity) {
            throw AppError(status: .forbidden, code: "scope_forbidden", title: "Forbidden", detail: "This account may not read the scope '\(scope)'.")
        }
        let wanted = Dictionary(uniqueKeysWithValues: SyncAuthorization.readableScopes(identity).map { ($0, 0) })
            .merging(request.cursors ?? [:]) { _, given in given }
        let scopes = wanted.keys.sorted()
        // Fast path: nothing new anywhere and nothing to reset — no query at all.
        if let known = headCache.heads(of: scopes), let last = headCache.lastMutation(of: request.clientID),
            scopes.allSatisfy({ scope in
                let cursor = wanted[scope] ?? 0
                return cursor == known[scope]!.seq && (cursor == 0 || cursor >= known[scope]!.purged)
            })
        {
            return PullPage(changes: [], cursors: wanted, hasMore: false, reset: [], lastMutationID: last, serverHLC: clock.now())
        }
        let resumingResets = try await resetsInProgress(clientID: request.clientID)
        let (page, heads) = try await database.read { [headCache] db in
            let heads = try await Self.heads(of: scopes, on: db)
            headCache.learn(heads.mapValues { HeadCache.Head(seq: $0.seq, purged: $0.purged) }.merging(
                scopes.filter { heads[$0] == nil }.map { ($0, HeadCache.Head(seq: 0, purged: 0)) }) { a, _ in a })
            var cursors: [Scope: Int] = [:]
            var reset: [Scope] = []
            var pending: [(Scope, Int)] = []
            for scope in scopes {
                var cursor = wanted[scope] ?? 0
                let head = heads[scope] ?? (seq: 0, purged: 0)
                // Behind the tombstone horizon, or ahead of the server (restored from a backup): start over — unless
                // the client is paging through a re-download it was already told to make.
                let stale = cursor > 0 && cursor < head.purged && !resumingResets.contains(scope)
                if cursor > head.seq || stale {
                    reset.append(scope)
                    cursor = 0
                }
                cursors[scope] = cursor
                if cursor < head.seq { pending.append((scope, cursor)) }
            }
            var changes: [Change] = []
            var bytes = 0
            var hasMore = false
            for (scope, cursor) in pending {
                let room = request.limit - changes.count
                if room <= 0 || bytes >= Self.maxPageBytes {
                    hasMore = true
                    break
                }
                let rows = try await db.raw(
                    """
                    SELECT seq, entity_type, entity_id, op, version, data FROM changes
                    WHERE scope = \(bind: scope.rawValue) AND seq > \(bind: cursor) ORDER BY seq LIMIT \(bind: room + 1)
                    """
                ).all()
                for (index, row) in rows.enumerated() {
                    if index == room || bytes >= Self.maxPageBytes {
                        hasMore = true
                        break
                    }
                    let change = try Self.change(row, scope: scope)
                    bytes += change.data?.count ?? 0
                    changes.append(change)
                    cursors[scope] = change.seq
                }
            }
            let last = try await db.select().column("last_mutation_id").from("sync_clients").where("client_id", .equal, request.clientID)
                .where("account_id", .equal, identity.accountID).first()?.decode(column: "last_mutation_id", as: Int.self) ?? 0
            headCache.learnLastMutation(last, of: request.clientID)
            return (PullPage(changes: changes, cursors: cursors, hasMore: hasMore, reset: reset, lastMutationID: last, serverHLC: clock.now()), heads)
        }
        try await recordResets(page, heads: heads, clientID: request.clientID, resuming: resumingResets)
        return page
    }

    /// Scopes this client is re-downloading after a reset (its cursor may sit below the horizon meanwhile).
    private func resetsInProgress(clientID: String) async throws -> Set<Scope> {
        if headCache.enabled && !headCache.resetsMayExist.withLock({ $0 }) { return [] }
        let (mine, any) = try await database.read { db in
            (
                Set(try await db.select().column("scope").from("sync_resets").where("client_id", .equal, clientID).all()
                    .compactMap { Scope(try $0.decode(column: "scope", as: String.self)) }),
                try await db.select().column("scope").from("sync_resets").limit(1).first() != nil
            )
        }
        if !any { headCache.resetsMayExist.withLock { $0 = false } }
        return mine
    }

    /// Remembers resets handed out, and forgets those whose re-download has passed the horizon.
    private func recordResets(_ page: PullPage, heads: [Scope: (seq: Int, purged: Int)], clientID: String, resuming: Set<Scope>) async throws {
        let finished = resuming.filter { (page.cursors[$0] ?? 0) >= (heads[$0]?.purged ?? 0) }
        guard !page.reset.isEmpty || !finished.isEmpty else { return }
        if !page.reset.isEmpty { headCache.resetsMayExist.withLock { $0 = true } }
        try await database.transaction { db in
            for scope in page.reset {
                try await db.insert(into: "sync_resets").columns("client_id", "scope").values(SQLBind(clientID), SQLBind(scope.rawValue))
                    .ignoringConflicts(with: ["client_id", "scope"]).run()
            }
            for scope in finished {
                try await db.delete(from: "sync_resets").where("client_id", .equal, clientID).where("scope", .equal, scope.rawValue).run()
            }
        }
    }

    /// Heads of `scopes`: their newest sequence number and the compaction horizon.
    static func heads(of scopes: [Scope], on db: any SQLDatabase) async throws -> [Scope: (seq: Int, purged: Int)] {
        guard !scopes.isEmpty else { return [:] }
        let rows = try await db.select().columns("scope", "seq", "purged_seq").from("scope_heads").where("scope", .in, scopes.map(\.rawValue)).all()
        var heads: [Scope: (seq: Int, purged: Int)] = [:]
        for row in rows {
            guard let scope = Scope(try row.decode(column: "scope", as: String.self)) else { continue }
            heads[scope] = (try row.decode(column: "seq", as: Int.self), try row.decode(column: "purged_seq", as: Int.self))
        }
        return heads
    }

    private static func change(_ row: any SQLRow, scope: Scope) throws -> Change {
        let type = try row.decode(column: "entity_type", as: String.self)
        guard let entityType = EntityType(rawValue: type) else { throw SyncError.unknownEntityType(type) }
        return Change(
            scope: scope, seq: try row.decode(column: "seq", as: Int.self), type: entityType, id: try row.decode(column: "entity_id", as: String.self),
            op: Change.Operation(rawValue: try row.decode(column: "op", as: String.self)) ?? .upsert,
            version: try row.decode(column: "version", as: Int.self), data: try row.decode(column: "data", as: String?.self).map { Array($0.utf8) }
        )
    }

    // MARK: Push

    /// Applies `mutations` in order, exactly once each, in one transaction: a rejected mutation writes nothing but
    /// still advances the client's last id, so it never blocks the ones after it.
    func push(clientID: String, mutations: [PendingMutation], identity: Identity) async throws -> PushOutcome {
        let outcome = try await database.transaction { db in
            var last = try await Self.lockClient(clientID, identity: identity, on: db)
            var results: [MutationResult] = []
            var changes: [ChangeRecord] = []
            for mutation in mutations {
                if mutation.id <= last {
                    results.append(MutationResult(id: mutation.id, status: .duplicate))
                    continue
                }
                if mutation.id != last + 1 {
                    results.append(
                        MutationResult(id: mutation.id, status: .rejected, code: "out_of_order", detail: "Expected mutation \(last + 1) next; resend from there.")
                    )
                    continue
                }
                last = mutation.id
                let context = MutationContext(accountID: identity.accountID, clientID: clientID, hlc: clock.admit(mutation.hlc), now: Int64(Clock.nowMillis()))
                switch try await run(mutation.name, args: mutation.args, context: context, on: db, pending: changes) {
                case .success(let records):
                    changes += records
                    results.append(MutationResult(id: mutation.id, status: .applied))
                case .failure(let rejection):
                    results.append(MutationResult(id: mutation.id, status: .rejected, code: rejection.code, detail: rejection.detail))
                }
            }
            try await ChangeLog.append(Self.latestPerEntity(changes), on: db)
            try await db.update("sync_clients").set("last_mutation_id", to: last).set("updated_at", to: Clock.nowMillis())
                .where("client_id", .equal, clientID).run()
            return PushOutcome(results: results, lastMutationID: last)
        }
        headCache.learnLastMutation(outcome.lastMutationID, of: clientID)
        return outcome
    }

    /// Runs one named mutator authoritatively in the caller's transaction: loads what it reads (this batch's earlier
    /// writes first), applies it, and returns the change records to append — or its rejection, having written nothing.
    /// REST routes that mirror a mutator (`POST /v1/cases/{id}/withdraw`, …) call this too, so both paths share one rule.
    func run(_ name: String, args: [UInt8], context: MutationContext, on db: any SQLDatabase, pending: [ChangeRecord] = []) async throws
        -> Result<[ChangeRecord], MutationRejection>
    {
        let initial: [EntityKey: [UInt8]?]
        var state: MutationState
        do {
            let mutator = try Mutators.named(name)
            let keys = try mutator.reads(args, context: context)
            initial = try await Self.load(keys, context: context, on: db, pending: pending)
            state = MutationState(entities: initial)
            try mutator.apply(args, to: &state, context: context)
        } catch let rejection as MutationRejection {
            return .failure(rejection)
        }
        var records: [ChangeRecord] = []
        for key in state.written {
            let new = state.json(key)
            if key.type == .appointmentSlot {
                // Server-side state: back to its own table, never into the change log.
                try await AppointmentSlotStore.persist(key, json: new, on: db)
            } else if key.type == .caseFile, let new {
                let old = (initial[key] ?? nil).flatMap { try? SyncJSON.decoder.decode(Case.self, from: Data($0)) }
                records += try await cases.persist(old: old, new: try SyncJSON.decoder.decode(Case.self, from: Data(new)), on: db)
            } else {
                let data = new.map { String(decoding: $0, as: UTF8.self) }
                records.append(
                    ChangeRecord(scope: SyncAuthorization.scope(of: key, context: context), type: key.type, id: key.id, op: data == nil ? .delete : .upsert, data: data))
            }
        }
        return .success(records)
    }

    /// Takes the client's row lock (an UPDATE locks on both engines) and returns its last mutation id; the first
    /// push or pull binds a client id to the device that used it.
    private static func lockClient(_ clientID: String, identity: Identity, on db: any SQLDatabase) async throws -> Int {
        for _ in 0..<2 {
            let row = try await db.raw(
                """
                UPDATE sync_clients SET updated_at = \(bind: Clock.nowMillis()) WHERE client_id = \(bind: clientID)
                RETURNING last_mutation_id, account_id
                """
            ).first()
            if let row {
                guard try row.decode(column: "account_id", as: String.self) == identity.accountID else {
                    throw AppError(status: .forbidden, code: "client_mismatch", title: "Forbidden", detail: "This clientId belongs to another account.")
                }
                return try row.decode(column: "last_mutation_id", as: Int.self)
            }
            try await db.raw(
                """
                INSERT INTO sync_clients (client_id, account_id, device_id, last_mutation_id, updated_at)
                VALUES (\(bind: clientID), \(bind: identity.accountID), \(bind: identity.deviceID), 0, \(bind: Clock.nowMillis()))
                ON CONFLICT (client_id) DO NOTHING
                """
            ).run()
        }
        throw SyncError.clientRowMissing
    }

    /// The current JSON of `keys` (from this push's earlier mutations first, then the change log), plus the
    /// appointment slots the mutator needs, which live outside the change log (`AppointmentSlotStore`).
    private static func load(_ keys: [EntityKey], context: MutationContext, on db: any SQLDatabase, pending: [ChangeRecord]) async throws -> [EntityKey: [UInt8]?] {
        var entities: [EntityKey: [UInt8]?] = [:]
        for key in keys where key.type != .appointmentSlot {
            let scope = SyncAuthorization.scope(of: key, context: context)
            if let earlier = pending.last(where: { $0.scope == scope && $0.type == key.type && $0.id == key.id }) {
                entities[key] = .some(earlier.data.map { Array($0.utf8) })
                continue
            }
            let row = try await db.select().columns("op", "data").from("changes").where("scope", .equal, scope.rawValue)
                .where("entity_type", .equal, key.type.rawValue).where("entity_id", .equal, key.id).first()
            let data = try row.flatMap { try $0.decode(column: "op", as: String.self) == "upsert" ? try $0.decode(column: "data", as: String?.self) : nil }
            entities[key] = .some(data.map { Array($0.utf8) })
        }
        let slots = try await AppointmentSlotStore.mutationState(for: keys, loaded: entities, now: context.now, on: db)
        return entities.merging(slots) { logged, _ in logged }
    }

    /// One change per entity (its final state), in first-written order.
    static func latestPerEntity(_ changes: [ChangeRecord]) -> [ChangeRecord] {
        var order: [String] = []
        var latest: [String: ChangeRecord] = [:]
        for change in changes {
            let key = "\(change.scope.rawValue)|\(change.type.rawValue)|\(change.id)"
            if latest[key] == nil { order.append(key) }
            latest[key] = change
        }
        return order.map { latest[$0]! }
    }
}

enum SyncError: Error {
    case unknownEntityType(String)
    case clientRowMissing
}

/// The server's HLC, shared by every request of this instance.
final class ServerClock: Sendable {
    private let clock = Mutex(HybridLogicalClock(node: "server"))

    func now() -> HLC { clock.withLock { $0.tick() } }

    /// The timestamp to record for a device's edit (bounded skew; see `HybridLogicalClock.admit`).
    func admit(_ remote: HLC) -> HLC { clock.withLock { $0.admit(remote) } }
}
