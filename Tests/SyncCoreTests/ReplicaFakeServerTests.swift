import Foundation
import SyncCore
import Synchronization
import Testing

/// A wall clock the tests move by hand, shared by replicas and the fake server.
final class ManualWallClock: Sendable {
    private let millis: Mutex<Int64>

    init(_ start: Int64 = 1_700_000_000_000) { millis = Mutex(start) }

    var now: Int64 { millis.withLock { $0 } }

    func advance(by delta: Int64) { millis.withLock { $0 += delta } }

    var read: @Sendable () -> Int64 { { [self] in self.now } }
}

/// An in-memory stand-in for the sync server (docs/ARCHITECTURE.md, "Delta sync"): per-scope compacted change logs with their own
/// sequence, tombstone purging with a horizon and reset epochs, per-client last mutation ids with exactly-once replay
/// of the shared mutators and stored verdicts (a retried id gets its original answer, the same id with other content
/// `mutation_id_reused`), client ids bound to the device that first used them (`client_cloned`), restores from a
/// snapshot, and fault injection. Scopes readable by an account: `public` and `user:<account>`.
final class FakeSyncServer: Sendable {
    struct Row: Sendable {
        var seq: Int
        var version: Int
        var data: [UInt8]?
    }

    struct ScopeLog: Sendable {
        var head = 0
        var purged = 0
        var rows: [EntityKey: Row] = [:]
        /// Every write in seq order; an entry is live while its row still has that seq (compaction by construction).
        var writes: [(seq: Int, key: EntityKey)] = []

        /// Live rows after `cursor` in seq order, at most `limit`, and whether more remain.
        func rows(after cursor: Int, limit: Int, tombstones: Bool) -> (rows: [(EntityKey, Row)], more: Bool) {
            var low = 0
            var high = writes.count
            while low < high {
                let middle = (low + high) / 2
                if writes[middle].seq <= cursor { low = middle + 1 } else { high = middle }
            }
            var found: [(EntityKey, Row)] = []
            for write in writes[low...] {
                guard let row = rows[write.key], row.seq == write.seq, tombstones || row.data != nil else { continue }
                if found.count == limit { return (found, true) }
                found.append((write.key, row))
            }
            return (found, false)
        }
    }

    struct State: Sendable {
        var logs: [Scope: ScopeLog] = [:]
        var homes: [EntityKey: Scope] = [:]
        var lastMutationID: [String: Int] = [:]
        /// How many times each (client, mutation id) was processed — exactly once is the contract.
        var processed: [String: [Int: Int]] = [:]
        /// Each processed mutation and the verdict it got, per client: a retried id is answered from here.
        var verdicts: [String: [Int: (mutation: PendingMutation, result: MutationResult)]] = [:]
        /// The reset epoch issued per "client|scope", and the horizon it was issued for: a stale cursor sent with it is
        /// a re-download in progress, without it a lost reset answer (reset again).
        var epochs: [String: (epoch: String, horizon: Int)] = [:]
        var epochCounter = 0
        /// The device each client id was first used from.
        var devices: [String: String] = [:]
        var clock: HybridLogicalClock
        var pulls = 0
        var pushes = 0
        var changesServed = 0
        var failPullAfter: Int?
        var flakyRate = 0.0
        var rng = SeededGenerator(seed: 1)

        func json(_ key: EntityKey) -> [UInt8]? {
            guard let scope = homes[key] else { return nil }
            return logs[scope]?.rows[key]?.data
        }

        mutating func write(_ key: EntityKey, _ data: [UInt8]?, in scope: Scope) {
            let previous = logs[scope]?.rows[key]
            guard data != nil || previous != nil else { return }
            // In place: copying a log out and back would copy all its rows on every write.
            logs[scope, default: ScopeLog()].head += 1
            let seq = logs[scope]!.head
            logs[scope]!.rows[key] = Row(seq: seq, version: (previous?.version ?? 0) + 1, data: data)
            logs[scope]!.writes.append((seq, key))
            homes[key] = scope
        }

        mutating func flaky() -> Bool {
            flakyRate > 0 && Double.random(in: 0..<1, using: &rng) < flakyRate
        }
    }

    let state: Mutex<State>
    let clock: ManualWallClock

    init(clock: ManualWallClock) {
        self.clock = clock
        state = Mutex(State(clock: HybridLogicalClock(node: "server", wallClock: clock.read)))
    }

    // MARK: Server-side writes

    func put<E: SyncEntity>(_ entities: [E], in scope: Scope) {
        put(json: entities.map { (EntityKey(E.entityType, $0.id), SyncJSON.encode($0)) }, in: scope)
    }

    func put(json entities: [(EntityKey, [UInt8])], in scope: Scope) {
        state.withLock { s in
            for (key, json) in entities { s.write(key, json, in: scope) }
        }
    }

    func put<E: SyncEntity>(_ entity: E, in scope: Scope) { put([entity], in: scope) }

    /// Changes an entity where it lives, as a server-side write would (e.g. a server-owned field).
    func modify<E: SyncEntity>(_ type: E.Type, id: String, _ change: (inout E) -> Void) {
        let key = EntityKey(E.entityType, id)
        guard var entity = entity(E.self, id: id), let scope = state.withLock({ $0.homes[key] }) else { return }
        change(&entity)
        put(entity, in: scope)
    }

    func delete(_ key: EntityKey) {
        state.withLock { s in
            if let scope = s.homes[key] { s.write(key, nil, in: scope) }
        }
    }

    /// Drops every tombstone of `scope` and raises its horizon past them, like the compactor after 30 days.
    func purgeTombstones(in scope: Scope) {
        state.withLock { s in
            guard let rows = s.logs[scope]?.rows else { return }
            for (key, row) in rows where row.data == nil {
                s.logs[scope]!.purged = max(s.logs[scope]!.purged, row.seq)
                s.logs[scope]!.rows[key] = nil
            }
        }
    }

    // MARK: Reading the server's state

    func entity<E: SyncEntity>(_ type: E.Type, id: String) -> E? {
        state.withLock { s in s.json(EntityKey(E.entityType, id)) }.map { try! SyncJSON.decoder.decode(E.self, from: Data($0)) }
    }

    func entities<E: SyncEntity>(_ type: E.Type, in scope: Scope) -> [E] {
        let rows = state.withLock { s in
            (s.logs[scope]?.rows ?? [:]).filter { $0.key.type == E.entityType }.compactMap { key, row in row.data.map { (key.id, $0) } }
        }
        return rows.sorted { $0.0 < $1.0 }.map { try! SyncJSON.decoder.decode(E.self, from: Data($0.1)) }
    }

    var pulls: Int { state.withLock { $0.pulls } }
    var changesServed: Int { state.withLock { $0.changesServed } }
    var pushes: Int { state.withLock { $0.pushes } }

    func processed(by clientID: String) -> [Int: Int] { state.withLock { $0.processed[clientID] ?? [:] } }

    func lastMutationID(of clientID: String) -> Int { state.withLock { $0.lastMutationID[clientID] ?? 0 } }

    // MARK: Faults

    /// After `pages` more served pulls, the next pull fails once with a non-transient error.
    func failPull(afterPages pages: Int) { state.withLock { $0.failPullAfter = $0.pulls + pages } }

    /// Each request fails transiently with probability `rate`; a failing push may have been applied (lost answer).
    func makeFlaky(rate: Double, seed: UInt64) {
        state.withLock {
            $0.flakyRate = rate
            $0.rng = SeededGenerator(seed: seed)
        }
    }

    // MARK: Protocol

    func transport(accountID: String, device: String = "device-1") -> SyncTransport {
        SyncTransport(
            pull: { request in try self.pull(accountID: accountID, request, device: device) },
            push: { clientID, mutations in try self.push(accountID: accountID, clientID: clientID, mutations: mutations, device: device) }
        )
    }

    /// The server's whole state, to restore later as if from a backup.
    func snapshot() -> State { state.withLock { $0 } }

    /// Goes back to a snapshot: a server restored from a backup (the wall clock and the device bindings stay).
    func restore(_ snapshot: State) {
        state.withLock { s in
            let devices = s.devices
            s = snapshot
            s.devices = devices
        }
    }

    func pull(accountID: String, clientID: String, cursors: [Scope: Int], epochs: [Scope: String] = [:], limit: Int) throws -> PullPage {
        try pull(accountID: accountID, PullRequest(clientID: clientID, cursors: cursors, epochs: epochs, limit: limit), device: "device-1")
    }

    /// Refuses a client id used from another device than the first: that replica is a copy.
    private static func checkDevice(_ s: inout State, clientID: String, device: String) throws {
        if let bound = s.devices[clientID], bound != device {
            throw SyncTransportError.refused(code: "client_cloned", detail: "The client id \(clientID) is in use by another device.")
        }
        s.devices[clientID] = device
    }

    func pull(accountID: String, _ request: PullRequest, device: String) throws -> PullPage {
        try state.withLock { (s: inout State) throws -> PullPage in
            if let failAt = s.failPullAfter, s.pulls >= failAt {
                s.failPullAfter = nil
                throw SyncTransportError.permanent("connection closed by peer")
            }
            if s.flaky() { throw SyncTransportError.transient("timeout") }
            try Self.checkDevice(&s, clientID: request.clientID, device: device)
            s.pulls += 1
            let limit = request.limit
            let wanted = request.cursors.isEmpty ? [.public: 0, .user(accountID): 0] : request.cursors
            var changes: [Change] = []
            var next: [Scope: Int] = [:]
            var reset: [Scope] = []
            var resetEpochs: [Scope: String] = [:]
            var hasMore = false
            for scope in wanted.keys.sorted() {
                let log = s.logs[scope] ?? ScopeLog()
                let marker = "\(request.clientID)|\(scope)"
                var cursor = wanted[scope] ?? 0
                let issued = s.epochs[marker]
                let redownloading = issued != nil && issued?.epoch == request.epochs[scope] && issued?.horizon == log.purged
                if cursor > log.head || (cursor > 0 && cursor < log.purged && !redownloading) {
                    reset.append(scope)
                    s.epochCounter += 1
                    let epoch = "ep\(s.epochCounter)"
                    s.epochs[marker] = (epoch, log.purged)
                    resetEpochs[scope] = epoch
                    cursor = 0
                }
                // A replica starting from zero needs no tombstones.
                let (taken, more) = log.rows(after: cursor, limit: max(0, limit - changes.count), tombstones: cursor > 0)
                changes += taken.map { key, row in
                    Change(
                        scope: scope, seq: row.seq, type: key.type, id: key.id, op: row.data == nil ? .delete : .upsert, version: row.version,
                        data: row.data
                    )
                }
                if more {
                    hasMore = true
                    next[scope] = taken.last?.1.seq ?? cursor
                } else {
                    next[scope] = log.head
                }
            }
            s.changesServed += changes.count
            return PullPage(
                changes: changes, cursors: next, hasMore: hasMore, reset: reset, resetEpochs: resetEpochs,
                lastMutationID: s.lastMutationID[request.clientID] ?? 0, serverHLC: s.clock.tick()
            )
        }
    }

    func push(accountID: String, clientID: String, mutations: [PendingMutation], device: String = "device-1") throws -> PushOutcome {
        try state.withLock { (s: inout State) throws -> PushOutcome in
            if s.flaky() { throw SyncTransportError.transient("connection reset") }
            try Self.checkDevice(&s, clientID: clientID, device: device)
            s.pushes += 1
            var last = s.lastMutationID[clientID] ?? 0
            var results: [MutationResult] = []
            for mutation in mutations {
                if mutation.id <= last {
                    if let stored = s.verdicts[clientID]?[mutation.id], stored.mutation != mutation {
                        results.append(
                            MutationResult(
                                id: mutation.id, status: .rejected, code: "mutation_id_reused", detail: "id \(mutation.id) was another mutation"))
                    } else {
                        results.append(s.verdicts[clientID]?[mutation.id]?.result ?? MutationResult(id: mutation.id, status: .duplicate))
                    }
                    continue
                }
                if mutation.id != last + 1 {
                    results.append(MutationResult(id: mutation.id, status: .rejected, code: "out_of_order", detail: "expected \(last + 1)"))
                    continue
                }
                last = mutation.id
                s.processed[clientID, default: [:]][mutation.id, default: 0] += 1
                let context = MutationContext(
                    accountID: accountID, role: .citizen, clientID: clientID, hlc: s.clock.admit(mutation.hlc), now: clock.now, authoritative: true)
                let result: MutationResult
                do {
                    let mutator = try SyncSchema.oneTrip.mutator(named: mutation.name)
                    var loaded: [EntityKey: [UInt8]?] = [:]
                    for key in try mutator.reads(mutation.args, context: context) { loaded[key] = .some(s.json(key)) }
                    var mutationState = MutationState(entities: loaded)
                    try mutator.apply(mutation.args, to: &mutationState, context: context)
                    for key in mutationState.written {
                        s.write(key, mutationState.json(key), in: s.homes[key] ?? .user(accountID))
                    }
                    result = MutationResult(id: mutation.id, status: .applied)
                } catch let rejection as MutationRejection {
                    result = .rejected(mutation.id, rejection)
                }
                s.verdicts[clientID, default: [:]][mutation.id] = (mutation, result)
                results.append(result)
            }
            s.lastMutationID[clientID] = last
            // The answer may be lost after the server committed: the client must resend and get the same verdicts.
            if s.flaky() { throw SyncTransportError.transient("response lost") }
            return PushOutcome(results: results, lastMutationID: last)
        }
    }
}

/// Test data.
enum SyncFixtures {
    static let account = "acc_1"

    static let departments = ["市场监管局", "不动产登记中心", "公安局", "人社局"]
    static let names = ["营业执照变更", "不动产转移登记", "身份证换领", "社保卡申领"]

    static func matter(_ index: Int) -> Matter {
        let domain = MatterDomain.allCases[index % MatterDomain.allCases.count]
        return Matter(
            code: String(format: "330100-%05d", index), name: "事项\(index) \(names[index % 4])",
            departmentId: "d\(index % 4)", departmentName: departments[index % 4], domain: domain, kind: .promised, legalDays: 20, promisedDays: 5,
            onsiteVisits: index % 2, fullyOnline: index % 2 == 0, idCardOnly: false, expressDelivery: index % 3 == 0,
            materials: [Material(name: "申请书", required: true, paperAllowed: true)], keywords: ["kw\(index % 97)"]
        )
    }

    /// The 10,000-matter catalog as JSON, encoded once for all tests.
    static let catalog: [(EntityKey, [UInt8])] = (0..<10_000).map { (EntityKey(.matter, matter($0).code), SyncJSON.encode(matter($0))) }

    static func profile(_ account: String = account) -> Profile { Profile(id: account, name: "张三", kind: "citizen") }

    static func message(_ id: String, at createdAt: Int64) -> Message {
        Message(id: id, title: "办件进度 \(id)", body: "您的申请已受理", category: "case", createdAt: createdAt)
    }

    static func options(pageLimit: Int = 1000) -> SyncOptions { SyncOptions(pageLimit: pageLimit, sleep: { _ in }) }

    /// A server holding one account's profile and `messages` messages.
    static func server(clock: ManualWallClock, messages: Int = 0) -> FakeSyncServer {
        let server = FakeSyncServer(clock: clock)
        server.put(profile(), in: .user(account))
        server.put((0..<messages).map { message("m\($0)", at: clock.now - Int64(messages - $0) * 1000) }, in: .user(account))
        return server
    }
}

@Suite struct ReplicaFakeServerTests {
    @Test("S23: retries get their original verdict; reused ids and gaps are refused") func retriesGetTheirOriginalVerdictReusedIdsAndGapsAreRefused()
        throws
    {
        let clock = ManualWallClock()
        let server = SyncFixtures.server(clock: clock, messages: 2)
        let args = SyncJSON.encode(MessageMarkRead.Args(messageId: "m0"))
        let one = PendingMutation(id: 1, name: MessageMarkRead.name, args: args, hlc: HLC(physical: clock.now, node: "c"))
        var two = one
        two.id = 2
        two.args = SyncJSON.encode(MessageMarkRead.Args(messageId: "gone"))
        var three = one
        three.id = 3
        let first = try server.push(accountID: SyncFixtures.account, clientID: "client-1", mutations: [one, two])
        #expect(first.results.map(\.status) == [.applied, .rejected] && first.results[1].code == "not_found" && first.lastMutationID == 2)
        let again = try server.push(accountID: SyncFixtures.account, clientID: "client-1", mutations: [one, two, MutationResultFixtures.other(one)])
        #expect(again.results.map(\.status) == [.applied, .rejected, .rejected])
        #expect(again.results.map(\.code) == [nil, "not_found", "mutation_id_reused"])
        let gap = try server.push(accountID: SyncFixtures.account, clientID: "client-1", mutations: [three.with(id: 4)])
        #expect(gap.results.first?.code == "out_of_order" && gap.lastMutationID == 2)
        #expect(server.processed(by: "client-1") == [1: 1, 2: 1])
    }

    @Test func aGapAnswerIsNotTreatedAsAVerdict() throws {
        let clock = ManualWallClock()
        let server = SyncFixtures.server(clock: clock, messages: 1)
        let replica = try Replica(path: nil, wallClock: clock.read)
        try replica.apply(try server.pull(accountID: SyncFixtures.account, clientID: replica.clientID, cursors: [:], limit: 100))
        try replica.mutate(MessageMarkRead.self, .init(messageId: "m0"), accountID: SyncFixtures.account)
        // The server answers `out_of_order` past its last id: the mutation stays pending and is sent again.
        let outcome = PushOutcome(results: [MutationResult(id: 1, status: .rejected, code: "out_of_order")], lastMutationID: 0)
        try replica.apply(outcome)
        #expect(try replica.outbox().map(\.status) == [.pending])
        #expect(try replica.pendingMutations().map(\.id) == [1])
    }
}

/// Mutations made up for the fake server's own tests.
enum MutationResultFixtures {
    /// `mutation` with other arguments: the same id for another mutation.
    static func other(_ mutation: PendingMutation) -> PendingMutation {
        var other = mutation
        other.args = SyncJSON.encode(MessageMarkRead.Args(messageId: "m1"))
        return other
    }
}

extension PendingMutation {
    /// The same mutation under another id.
    func with(id: Int) -> PendingMutation {
        var copy = self
        copy.id = id
        return copy
    }
}
