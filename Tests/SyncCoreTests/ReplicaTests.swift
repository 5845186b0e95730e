import Foundation
import SyncCore
import Testing

/// Hand-made pull pages, for tests that drive a replica without a server.
enum ReplicaPages {
    static let user = Scope.user(SyncFixtures.account)

    static func upsert<E: SyncEntity>(_ entity: E, in scope: Scope = user, seq: Int, version: Int = 1) -> Change {
        Change(scope: scope, seq: seq, type: E.entityType, id: entity.id, op: .upsert, version: version, data: SyncJSON.encode(entity))
    }

    static func delete(_ key: EntityKey, in scope: Scope = user, seq: Int, version: Int = 2) -> Change {
        Change(scope: scope, seq: seq, type: key.type, id: key.id, op: .delete, version: version, data: nil)
    }

    static func page(_ changes: [Change], reset: [Scope] = [], lastMutationID: Int = 0, hasMore: Bool = false) -> PullPage {
        var cursors: [Scope: Int] = [:]
        for change in changes { cursors[change.scope] = max(cursors[change.scope] ?? 0, change.seq) }
        return PullPage(
            changes: changes, cursors: cursors, hasMore: hasMore, reset: reset, lastMutationID: lastMutationID,
            serverHLC: HLC(physical: 1_700_000_000_000, node: "server")
        )
    }

    /// A replica on `clock` holding the account's profile and `messages` messages (`m1`, `m2`, … at 1, 2, … s).
    static func seededReplica(messages: Int, clock: ManualWallClock) throws -> Replica {
        let replica = try Replica(path: nil, wallClock: clock.read)
        let notes = (1...max(messages, 1)).prefix(messages).map { upsert(SyncFixtures.message("m\($0)", at: Int64($0) * 1_000), seq: $0 + 1) }
        try replica.apply(page([upsert(SyncFixtures.profile(), seq: 1)] + notes))
        return replica
    }
}

@Suite struct ReplicaTests {
    let clock = ManualWallClock()
    let account = SyncFixtures.account

    func seeded() throws -> Replica { try ReplicaPages.seededReplica(messages: 2, clock: clock) }

    @Test func aLocalEditIsVisibleAtOnceAndQueued() throws {
        let replica = try seeded()
        let queued = try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "小张")), accountID: account)
        #expect(queued.id == 1 && queued.hlc.node == replica.clientID)
        #expect(try replica.profile(accountID: account)?.nickname == "小张")
        #expect(try replica.pendingMutations() == [queued])
        let entry = try #require(try replica.outbox().first)
        #expect(entry.status == .pending && !entry.acknowledged && entry.writtenKeys == [EntityKey(.profile, account)])

        // Processed by the server without the edit in the data: the server's state shows, but whether the edit was
        // rejected or lost is the server's verdict to give — the mutation stays listed and is sent again to hear it.
        try replica.apply(ReplicaPages.page([], lastMutationID: 1))
        #expect(try replica.profile(accountID: account)?.nickname == nil)
        #expect(try replica.pendingMutations() == [queued])
        try replica.apply(PushOutcome(results: [.init(id: 1, status: .rejected, code: "invalid_args", detail: "nickname")], lastMutationID: 1))
        #expect(try replica.outbox().map(\.code) == ["invalid_args"] && replica.outbox().map(\.acknowledged) == [true])
        #expect(try replica.pendingMutations().isEmpty)
    }

    @Test func anAppliedEditStaysVisibleUntilTheLastPageDeliversIt() throws {
        let replica = try seeded()
        try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "小张")), accountID: account)
        try replica.apply(PushOutcome(results: [.init(id: 1, status: .applied)], lastMutationID: 1))
        // The server's change for the profile comes in a later page: the edit must not flicker away meanwhile.
        try replica.apply(ReplicaPages.page([ReplicaPages.upsert(SyncFixtures.matter(1), in: .public, seq: 1)], lastMutationID: 1, hasMore: true))
        #expect(try replica.profile(accountID: account)?.nickname == "小张")
        #expect(try replica.outbox().map(\.acknowledged) == [true])
        #expect(try replica.pendingMutations().isEmpty)
        var confirmed = SyncFixtures.profile()
        confirmed.nickname = "小张"
        try replica.apply(ReplicaPages.page([ReplicaPages.upsert(confirmed, seq: 4, version: 2)], lastMutationID: 1))
        #expect(try replica.profile(accountID: account) == confirmed)
        #expect(try replica.outbox().isEmpty)
    }

    @Test func aRefusedEditIsThrownAndNothingIsQueued() throws {
        let replica = try seeded()
        #expect(throws: MutationRejection.self) {
            try replica.mutate(ProfileUpdate.self, .init(changes: .init(email: "not-an-email")), accountID: account)
        }
        #expect(throws: MutationRejection(.notFound, "No message has the id 'nope'.")) {
            try replica.mutate(MessageMarkRead.self, .init(messageId: "nope"), accountID: account)
        }
        #expect(throws: MutationRejection.self) { try replica.mutate("case.teleport", args: ["x": 1], accountID: account) }
        #expect(try replica.outbox().isEmpty)
        // No id was used up: the server refuses gaps.
        #expect(try replica.mutate(MessageMarkRead.self, .init(messageId: "m1"), accountID: account).id == 1)
    }

    @Test func pagesUpsertDeleteAndSkipStaleChanges() throws {
        let replica = try seeded()
        var renamed = SyncFixtures.message("m1", at: 1_000)
        renamed.title = "新标题"
        let update = try replica.apply(
            ReplicaPages.page([ReplicaPages.upsert(renamed, seq: 4, version: 2), ReplicaPages.delete(EntityKey(.message, "m2"), seq: 5)])
        )
        #expect(update.storedChanges == 2)
        let stale = try replica.apply(ReplicaPages.page([ReplicaPages.upsert(SyncFixtures.message("m1", at: 1_000), seq: 2)]))
        #expect(stale.staleChanges == 1)
        #expect(try replica.messages().map(\.title) == ["新标题"])
        #expect(try replica.cursors() == [ReplicaPages.user: 2])
    }

    @Test func aRebaseRejectsWhatNoLongerAppliesButStillSendsIt() throws {
        let replica = try seeded()
        try replica.mutate(MessageMarkRead.self, .init(messageId: "m1"), accountID: account)
        #expect(try replica.messages().first { $0.id == "m1" }?.readAt != nil)
        // The server deleted the message before this device pushed.
        let update = try replica.apply(ReplicaPages.page([ReplicaPages.delete(EntityKey(.message, "m1"), seq: 4)]))
        #expect(update.rejected == [1])
        let entry = try #require(try replica.outbox().first)
        #expect(entry.status == .rejected && entry.code == "not_found" && !entry.acknowledged)
        // It is still pushed (the server refuses gaps and has the last word); the next edit gets the next id.
        #expect(try replica.pendingMutations().map(\.id) == [1])
        #expect(try replica.mutate(MessageMarkRead.self, .init(messageId: "m2"), accountID: account).id == 2)
        // The server's verdict is recorded; the entry stays listed until dismissed.
        let results: [MutationResult] = [.init(id: 1, status: .rejected, code: "not_found"), .init(id: 2, status: .applied)]
        try replica.apply(PushOutcome(results: results, lastMutationID: 2))
        #expect(try replica.pendingMutations().isEmpty)
        #expect(try replica.outbox().map(\.acknowledged) == [true, true])
        try replica.dismissRejected()
        #expect(try replica.outbox().map(\.id) == [2])
    }

    @Test func aServerRejectionRollsTheOptimisticEditBack() throws {
        let replica = try seeded()
        try replica.mutate(MessageMarkRead.self, .init(messageId: "m2"), accountID: account)
        try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "小张")), accountID: account)
        let update = try replica.apply(
            PushOutcome(
                results: [.init(id: 1, status: .rejected, code: "not_found", detail: "gone"), .init(id: 2, status: .applied)], lastMutationID: 2
            )
        )
        #expect(update.rejected == [1])
        #expect(try replica.messages().first { $0.id == "m2" }?.readAt == nil)
        #expect(try replica.profile(accountID: account)?.nickname == "小张")
        #expect(try replica.outbox().map(\.status) == [.rejected, .pending])
    }

    @Test func queriesReadTheOverlayOverConfirmedState() throws {
        let replica = try Replica(path: nil, wallClock: clock.read)
        let faq = [
            FAQEntry(id: "f1", question: "营业执照怎么变更？", answer: "在线提交即可", tags: ["商事"]),
            FAQEntry(id: "f2", question: "如何预约？", answer: "营业执照类事项可预约", tags: []),
        ]
        try replica.apply(
            ReplicaPages.page(
                (0..<20).map { ReplicaPages.upsert(SyncFixtures.matter($0), in: .public, seq: $0 + 1) }
                    + faq.enumerated().map { ReplicaPages.upsert($1, in: .public, seq: 21 + $0) }
                    + [
                        ReplicaPages.upsert(SyncFixtures.message("old", at: 1), seq: 1),
                        ReplicaPages.upsert(SyncFixtures.message("new", at: 9), seq: 2),
                    ]
            )
        )
        #expect(try replica.searchMatters("营业执照 市场监管局").map(\.code) == [0, 4, 8, 12, 16].map { SyncFixtures.matter($0).code })
        #expect(try replica.searchMatters("KW5").map(\.code) == [SyncFixtures.matter(5).code])
        #expect(try replica.searchMatters("%").isEmpty)
        #expect(try replica.searchMatters(nil, limit: 3).count == 3)
        #expect(try replica.faq("营业执照").map(\.id) == ["f1", "f2"])
        #expect(try replica.messages().map(\.id) == ["new", "old"])
        #expect(try replica.entities(Matter.self, in: .public).count == 20)
        #expect(try replica.entities(Message.self, in: .public).isEmpty)
        #expect(try replica.entity(Matter.self, id: SyncFixtures.matter(3).code) == SyncFixtures.matter(3))
        #expect(try replica.count(.faq) == 2)
    }

    @Test func aFileReplicaKeepsItsIdentityOutboxAndCursors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("replica-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("replica.sqlite").path
        var clientID = ""
        do {
            let replica = try Replica(path: path, wallClock: clock.read)
            clientID = replica.clientID
            try replica.apply(ReplicaPages.page([ReplicaPages.upsert(SyncFixtures.profile(), seq: 7)]))
            try replica.mutate(ProfileUpdate.self, .init(changes: .init(language: "en")), accountID: account)
        }
        let reopened = try Replica(path: path, wallClock: clock.read)
        #expect(reopened.clientID == clientID)
        #expect(try reopened.cursors() == [ReplicaPages.user: 7])
        #expect(try reopened.profile(accountID: account)?.language == "en")
        #expect(try reopened.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "x")), accountID: account).id == 2)
        #expect(try Replica(path: nil).clientID != clientID)
    }

    @Test func editsAreStampedAfterTheServersClock() throws {
        let replica = try seeded()
        // `seeded` received a server HLC at 1_700_000_000_000; this device's clock is behind it.
        clock.advance(by: -5_000)
        let queued = try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "a")), accountID: account)
        #expect(queued.hlc > HLC(physical: 1_700_000_000_000, node: "server"))
    }
}
