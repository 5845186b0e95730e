import Foundation
import SyncCore
import Testing

/// Replica files in a temporary directory, copied the way a backup, a restore or a second phone copies them.
final class ReplicaFiles {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("replicas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent("\(name).sqlite").path }

    /// Copies a closed replica's files (database, WAL and shared memory) over `destination`'s.
    func copy(_ source: String, to destination: String) throws {
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: destination + suffix)
            if FileManager.default.fileExists(atPath: source + suffix) {
                try FileManager.default.copyItem(atPath: source + suffix, toPath: destination + suffix)
            }
        }
    }
}

/// Sync after a replica restore, a copied replica, a restored server, lost answers and wrong clocks (S10, S22, S23, S38).
@Suite struct SyncEngineRecoveryTests {
    let clock = ManualWallClock()
    let account = SyncFixtures.account

    func engine(_ replica: Replica, _ server: FakeSyncServer, device: String = "device-1") -> SyncEngine {
        SyncEngine(replica: replica, transport: server.transport(accountID: account, device: device), options: SyncFixtures.options())
    }

    func edit(_ engine: SyncEngine, nickname: String) throws {
        clock.advance(by: 1_000)
        try engine.replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: nickname)), accountID: account)
    }

    @Test("S10: a replica restored from a backup does not lose its next edit") func aReplicaRestoredFromABackupDoesNotLoseItsNextEdit() async throws {
        let files = try ReplicaFiles()
        let server = SyncFixtures.server(clock: clock)
        let path = files.path("phone")
        var clientID = ""
        do {
            let phone = engine(try Replica(path: path, wallClock: clock.read), server)
            clientID = phone.replica.clientID
            try await phone.sync()
            try edit(phone, nickname: "A")
            try await phone.sync()
        }
        try files.copy(path, to: files.path("backup"))
        do {
            let phone = engine(try Replica(path: path, wallClock: clock.read), server)
            for nickname in ["B", "C"] {
                try edit(phone, nickname: nickname)
                try await phone.sync()
            }
        }
        try files.copy(files.path("backup"), to: path)
        let restored = engine(try Replica(path: path, wallClock: clock.read), server)
        try edit(restored, nickname: "D")
        let report = try await restored.sync()
        #expect(
            server.entity(Profile.self, id: account)?.nickname == "D", "id 2 was B on the server: D is renumbered, not acknowledged as a duplicate")
        #expect(report.renumbered == 1 && report.applied == 1)
        #expect(server.processed(by: clientID) == [1: 1, 2: 1, 3: 1, 4: 1])
        #expect(try restored.replica.outbox().isEmpty && restored.replica.profile(accountID: account)?.nickname == "D")
    }

    @Test("S10: a copied replica takes a new client id and keeps its edits") func aCopiedReplicaTakesANewClientIdAndKeepsItsEdits() async throws {
        let files = try ReplicaFiles()
        let server = SyncFixtures.server(clock: clock, messages: 1)
        do {
            let phone = engine(try Replica(path: files.path("a"), wallClock: clock.read), server)
            try await phone.sync()
            try edit(phone, nickname: "first")
            try await phone.sync()
        }
        try files.copy(files.path("a"), to: files.path("b"))
        let original = engine(try Replica(path: files.path("a"), wallClock: clock.read), server)
        let copy = engine(try Replica(path: files.path("b"), wallClock: clock.read), server, device: "device-2")
        #expect(original.replica.clientID == copy.replica.clientID)
        try edit(original, nickname: "original")
        try edit(copy, nickname: "copy")
        try copy.replica.mutate(MessageMarkRead.self, .init(messageId: "m0"), accountID: account)
        try await original.sync()

        let report = try await copy.sync()
        #expect(report.startedNewClient && report.applied == 2)
        #expect(copy.replica.clientID != original.replica.clientID)
        #expect(server.processed(by: copy.replica.clientID) == [1: 1, 2: 1])
        #expect(server.entity(Profile.self, id: account)?.nickname == "copy", "the later edit wins")
        try await original.sync()
        #expect(try original.replica.profile(accountID: account) == copy.replica.profile(accountID: account))
        #expect(try copy.replica.outbox().isEmpty && copy.replica.messages().first?.readAt != nil)
    }

    @Test func aServerRestoredFromABackupTakesTheDevicesNextEdits() async throws {
        let server = SyncFixtures.server(clock: clock)
        let phone = engine(try Replica(path: nil, wallClock: clock.read), server)
        try await phone.sync()
        try edit(phone, nickname: "a")
        try await phone.sync()
        let backup = server.snapshot()
        try edit(phone, nickname: "b")
        try await phone.sync()
        server.restore(backup)
        // Server-side writes (new messages) move the restored server's head past this device's cursor.
        server.put([SyncFixtures.message("m8", at: clock.now), SyncFixtures.message("m9", at: clock.now)], in: .user(account))

        try edit(phone, nickname: "c")
        let report = try await phone.sync()
        #expect(report.renumbered == 1 && report.applied == 1)
        #expect(server.lastMutationID(of: phone.replica.clientID) == 2 && server.entity(Profile.self, id: account)?.nickname == "c")
        #expect(try phone.replica.outbox().isEmpty && phone.replica.profile(accountID: account)?.nickname == "c")
    }

    @Test func editsAServerLostBeforeTheDevicePulledAreSentAgain() async throws {
        let server = SyncFixtures.server(clock: clock)
        let phone = engine(try Replica(path: nil, wallClock: clock.read), server)
        try await phone.sync()
        let backup = server.snapshot()
        try edit(phone, nickname: "kept")
        try phone.replica.apply(
            try server.push(accountID: account, clientID: phone.replica.clientID, mutations: try phone.replica.pendingMutations()))
        server.restore(backup)

        let report = try await phone.sync()
        #expect(report.renumbered == 1)
        #expect(server.entity(Profile.self, id: account)?.nickname == "kept")
        #expect(try phone.replica.outbox().isEmpty && phone.replica.profile(accountID: account)?.nickname == "kept")
    }

    @Test("S23: a rejection whose answer was lost is still reported") func aRejectionWhoseAnswerWasLostIsStillReported() async throws {
        let server = SyncFixtures.server(clock: clock, messages: 2)
        let phone = engine(try Replica(path: nil, wallClock: clock.read), server)
        try await phone.sync()
        try phone.replica.mutate(MessageMarkRead.self, .init(messageId: "m1"), accountID: account)
        server.delete(EntityKey(.message, "m1"))
        let lossy = server.transport(accountID: account).losingPushResponses(1)
        let report = try await SyncEngine(replica: phone.replica, transport: lossy, options: SyncFixtures.options()).sync()
        #expect(report.rejected == 1 && report.applied == 0 && report.retries == 1)
        let entry = try #require(try phone.replica.outbox().first)
        #expect(entry.status == .rejected && entry.code == "not_found" && entry.acknowledged)
    }

    @Test("S22: a lost reset answer is reset again, so no delete is missed") func aLostResetAnswerIsResetAgainSoNoDeleteIsMissed() async throws {
        let server = SyncFixtures.server(clock: clock)
        server.put((0..<50).map(SyncFixtures.matter), in: .public)
        let phone = SyncEngine(
            replica: try Replica(path: nil, wallClock: clock.read), transport: server.transport(accountID: account),
            options: SyncFixtures.options(pageLimit: 20))
        try await phone.sync()
        for index in 0..<10 { server.delete(EntityKey(.matter, SyncFixtures.matter(index).code)) }
        server.purgeTombstones(in: .public)

        let lost = SyncLocked(1)
        let real = server.transport(accountID: account)
        let lossy = SyncTransport(
            pull: { request in
                let page = try await real.pull(request)
                if !page.reset.isEmpty, lost.takeOne() { throw SyncTransportError.transient("response lost") }
                return page
            },
            push: real.push)
        let report = try await SyncEngine(replica: phone.replica, transport: lossy, options: SyncFixtures.options(pageLimit: 20)).sync()
        #expect(report.resetScopes == [.public] && report.retries == 1)
        #expect(try phone.replica.count(.matter) == 40 && phone.replica.entity(Matter.self, id: SyncFixtures.matter(3).code) == nil)
        #expect(try phone.replica.epochs().keys.sorted() == [.public])
    }

    @Test("S38: a fast device's earlier edit loses to an honest device's later one") func aFastDevicesEditMadeEarlierLosesToAnHonestDevicesLaterEdit()
        async throws
    {
        let server = SyncFixtures.server(clock: clock)
        let twoHours: Int64 = 7_200_000
        let fast = engine(try Replica(path: nil, wallClock: { [clock] in clock.now + twoHours }), server)
        let honest = engine(try Replica(path: nil, wallClock: clock.read), server)
        try await fast.sync()
        try await honest.sync()
        try edit(fast, nickname: "fast, earlier")
        try edit(honest, nickname: "honest, later")
        try await honest.sync()
        clock.advance(by: 60_000)
        try await fast.sync()
        try await honest.sync()
        #expect(server.entity(Profile.self, id: account)?.nickname == "honest, later")
        #expect(try fast.replica.profile(accountID: account) == honest.replica.profile(accountID: account))
    }

    @Test func stampsNeverGoBackWhenTheLearnedOffsetShrinks() throws {
        let twoHours: Int64 = 7_200_000
        let replica = try Replica(path: nil, wallClock: { [clock] in clock.now + twoHours })
        // A first page whose server clock is unreadable teaches nothing: the device stamps by its own clock.
        try replica.apply(
            PullPage(
                changes: [ReplicaPages.upsert(SyncFixtures.profile(), seq: 1)], cursors: [ReplicaPages.user: 1], hasMore: false, reset: [],
                lastMutationID: 0, serverHLC: .zero))
        let early = try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "early")), accountID: account)
        #expect(early.hlc.physical == clock.now + twoHours)
        try replica.apply(ReplicaPages.page([], lastMutationID: 0))
        let next = try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "next")), accountID: account)
        #expect(next.hlc > early.hlc, "later on this device is later in its stamps")
        #expect(try replica.profile(accountID: account)?.nickname == "next")
        clock.advance(by: 3 * 3_600_000)
        let later = try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "later")), accountID: account)
        #expect(later.hlc.physical == clock.now, "in server time once the clock caught up")
    }

    @Test func otherRefusalsStayFinalAndKeepTheClientId() async throws {
        let server = SyncFixtures.server(clock: clock, messages: 1)
        let real = server.transport(accountID: account)
        let phone = engine(try Replica(path: nil, wallClock: clock.read), server)
        try await phone.sync()
        let clientID = phone.replica.clientID
        try phone.replica.mutate(MessageMarkRead.self, .init(messageId: "m0"), accountID: account)
        server.put(SyncFixtures.message("m1", at: clock.now), in: .user(account))
        let refusal = SyncTransportError.refused(code: "client_mismatch", detail: "another account's client id")
        let refusing = SyncTransport(pull: real.pull, push: { _, _ in throw refusal })
        await #expect(throws: refusal) { try await SyncEngine(replica: phone.replica, transport: refusing, options: SyncFixtures.options()).sync() }
        #expect(try phone.replica.pendingMutations().map(\.id) == [1] && phone.replica.clientID == clientID)
        #expect(try phone.replica.messages().map(\.id) == ["m1", "m0"], "the pull still ran")
    }

    @Test func aServerThatKeepsRefusingAsClonedIsNotLoopedOn() async throws {
        let replica = try Replica(path: nil, wallClock: clock.read)
        let first = replica.clientID
        let cloned = SyncTransportError.refused(code: "client_cloned", detail: "in use")
        let transport = SyncTransport(pull: { _ in throw cloned }, push: { _, _ in throw cloned })
        await #expect(throws: cloned) { try await SyncEngine(replica: replica, transport: transport, options: SyncFixtures.options()).sync() }
        #expect(replica.clientID != first, "one new client id, then the refusal is reported")
    }

    @Test func idsThatKeepCollidingAreLeftForTheNextSync() async throws {
        let server = SyncFixtures.server(clock: clock)
        let phone = engine(try Replica(path: nil, wallClock: clock.read), server)
        try await phone.sync()
        try edit(phone, nickname: "x")
        let colliding = SyncTransport(
            pull: server.transport(accountID: account).pull,
            push: { _, mutations in
                PushOutcome(
                    results: mutations.map { MutationResult(id: $0.id, status: .rejected, code: "mutation_id_reused") },
                    lastMutationID: mutations[0].id + 10)
            })
        await #expect(throws: SyncEngineError.renumberLoop) {
            try await SyncEngine(replica: phone.replica, transport: colliding, options: SyncFixtures.options()).sync()
        }
        #expect(try phone.replica.pendingMutations().count == 1 && phone.replica.profile(accountID: account)?.nickname == "x")
        try await phone.sync()
        #expect(server.entity(Profile.self, id: account)?.nickname == "x")
    }
}
