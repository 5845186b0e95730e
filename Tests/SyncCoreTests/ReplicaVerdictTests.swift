import Foundation
import SyncCore
import Testing

/// The outbox ends in the server's verdicts (S23), intermediate pages show nothing the final state lacks (S41), reset
/// epochs travel with the cursors (S22), and ids are renumbered, never dropped, after a restore or a copy (S10).
@Suite struct ReplicaVerdictTests {
    typealias F = CaseFixtures
    let clock = ManualWallClock()
    let account = SyncFixtures.account

    func seeded() throws -> Replica { try ReplicaPages.seededReplica(messages: 1, clock: clock) }

    @Test("S23: an applied verdict revives a local rejection") func anAppliedVerdictRevivesALocalRejection() throws {
        let replica = try seeded()
        try replica.mutate(MessageMarkRead.self, .init(messageId: "m1"), accountID: account)
        // This device's view lost m1 (say, a stale page); the server still had it and applied the read.
        try replica.apply(ReplicaPages.page([ReplicaPages.delete(EntityKey(.message, "m1"), seq: 3)]))
        #expect(try replica.outbox().map(\.status) == [.rejected] && replica.outbox().map(\.acknowledged) == [false])
        try replica.apply(PushOutcome(results: [.init(id: 1, status: .applied)], lastMutationID: 1))
        #expect(try replica.outbox().map(\.status) == [.pending] && replica.outbox().map(\.acknowledged) == [true])
        #expect(try replica.pendingMutations().isEmpty)
        var read = SyncFixtures.message("m1", at: 1_000)
        read.readAt = clock.now
        try replica.apply(ReplicaPages.page([ReplicaPages.upsert(read, seq: 4, version: 3)], lastMutationID: 1))
        #expect(try replica.outbox().isEmpty && replica.messages().map(\.readAt) == [clock.now])
    }

    @Test func aDuplicateAnswerCountsAsApplied() throws {
        let replica = try seeded()
        try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "小张")), accountID: account)
        try replica.apply(PushOutcome(results: [.init(id: 1, status: .duplicate)], lastMutationID: 1))
        #expect(try replica.outbox().map(\.acknowledged) == [true] && replica.pendingMutations().isEmpty)
        #expect(try replica.profile(accountID: account)?.nickname == "小张", "shown until the pull brings it")
    }

    @Test func aRejectionKeepsItsFieldsAndAlternatives() throws {
        let replica = try seeded()
        try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "小张")), accountID: account)
        let rejection = MutationRejection(
            .invalidArgs, "nickname: taken", errors: [FieldProblem(pointer: "/changes/nickname", detail: "taken")], alternatives: ["小张1"])
        try replica.apply(PushOutcome(results: [.rejected(1, rejection)], lastMutationID: 1))
        let entry = try #require(try replica.outbox().first)
        #expect(entry.code == "invalid_args" && entry.errors == rejection.errors && entry.alternatives == ["小张1"])
        #expect(try replica.profile(accountID: account)?.nickname == nil)
    }

    @Test("S41: an intermediate page never shows a supplement twice") func anIntermediatePageNeverShowsASupplementTwice() throws {
        let replica = try Replica(path: nil, wallClock: clock.read)
        let user = Scope.user(F.applicantID)
        var store = CaseStore(cases: [try F.walk(F.draft(F.inheritance), [(.submit, F.applicant, F.at("2026-09-28", 9), nil, .init())])])
        try store.clerk(
            .acceptPending, at: F.at("2026-09-28", 10), details: .init(pendingMaterials: ["亲属关系证明"], pendingDue: "2026-10-09"))
        let pending = try #require(store.case())
        try replica.apply(ReplicaPages.page([ReplicaPages.upsert(pending, in: user, seq: 1)]))
        try replica.mutate(CaseSupplement.self, .init(caseId: "case_1", materials: F.files(["亲属关系证明"])), accountID: F.applicantID)
        func supplements() throws -> Int { try replica.entity(Case.self, id: "case_1")?.timeline.filter { $0.action == "supplement" }.count ?? -1 }
        #expect(try supplements() == 1)
        try replica.apply(PushOutcome(results: [.init(id: 1, status: .applied)], lastMutationID: 1))

        // The server's case, with the supplement applied, arrives on a page with more to come.
        try store.push(CaseSupplement.self, .init(caseId: "case_1", materials: F.files(["亲属关系证明"])), F.phone(clock.now))
        let applied = try #require(store.case())
        try replica.apply(ReplicaPages.page([ReplicaPages.upsert(applied, in: user, seq: 2, version: 2)], lastMutationID: 1, hasMore: true))
        #expect(try supplements() == 1, "not replayed on top of its own effect")
        try replica.apply(ReplicaPages.page([ReplicaPages.upsert(SyncFixtures.matter(1), in: .public, seq: 1)], lastMutationID: 1))
        #expect(try supplements() == 1 && replica.outbox().isEmpty)
        #expect(try replica.entity(Case.self, id: "case_1") == applied)
    }

    @Test func resetEpochsStayWithTheirScopeUntilTheNextReset() throws {
        let replica = try seeded()
        var page = ReplicaPages.page([ReplicaPages.upsert(SyncFixtures.matter(1), in: .public, seq: 1)], reset: [.public], hasMore: true)
        page.resetEpochs = [.public: "ep-7"]
        try replica.apply(page)
        #expect(
            try replica.pullRequest(limit: 10)
                == PullRequest(clientID: replica.clientID, cursors: [.public: 1, ReplicaPages.user: 2], epochs: [.public: "ep-7"], limit: 10))
        try replica.apply(ReplicaPages.page([ReplicaPages.upsert(SyncFixtures.matter(2), in: .public, seq: 2)]))
        #expect(try replica.epochs() == [.public: "ep-7"] && replica.cursors()[.public] == 2, "kept while paging and after")
        var again = ReplicaPages.page([], reset: [.public])
        again.resetEpochs = [.public: "ep-9"]
        try replica.apply(again)
        #expect(try replica.epochs() == [.public: "ep-9"])
        try replica.apply(ReplicaPages.page([], reset: [.public]))
        #expect(try replica.epochs().isEmpty, "a reset without an epoch drops the old one with the cursor")
    }

    @Test("S10: a reused id is renumbered after the server's last") func aReusedIdIsRenumberedAfterTheServersLastAndTheRestKeepTheirOrder() throws {
        let replica = try seeded()
        for nickname in ["a", "b", "c"] { try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: nickname)), accountID: account) }
        // A copy of this replica already used ids 1...5 on the server.
        let outcome = PushOutcome(
            results: [
                .init(id: 1, status: .rejected, code: "mutation_id_reused"), .init(id: 2, status: .applied),
                .init(id: 3, status: .rejected, code: "mutation_id_reused"),
            ],
            lastMutationID: 5)
        let update = try replica.apply(outcome)
        #expect(update.renumbered == 3)
        #expect(try replica.pendingMutations().map(\.id) == [6, 7, 8])
        #expect(try replica.outbox().map(\.status) == [.pending, .pending, .pending], "none is lost or judged")
        #expect(try replica.profile(accountID: account)?.nickname == "c")
        #expect(try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "d")), accountID: account).id == 9)
    }

    @Test("S10: a client ahead of a restored server resends from its last id") func aClientAheadOfARestoredServerResendsFromItsLastId() throws {
        let replica = try seeded()
        for nickname in ["a", "b", "c"] { try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: nickname)), accountID: account) }
        try replica.apply(
            PushOutcome(results: [.init(id: 1, status: .applied), .init(id: 2, status: .rejected, code: "invalid_args")], lastMutationID: 2))
        // The server was restored to a backup taken before any of them: 3 is "out of order" after its last id 0.
        let update = try replica.apply(PushOutcome(results: [.init(id: 3, status: .rejected, code: "out_of_order")], lastMutationID: 0))
        #expect(update.renumbered == 2)
        #expect(try replica.pendingMutations().map(\.id) == [1, 2], "the applied one the server lost, then the unanswered one")
        let outbox = try replica.outbox()
        #expect(outbox.map(\.id) == [0, 1, 2] && outbox.first?.code == "invalid_args", "the rejection stays listed, out of the way")
        #expect(try replica.lastConfirmedMutationID() == 0)
    }

    @Test func aNewClientRenumbersWhatItNeverSentFromOne() throws {
        let replica = try seeded()
        let old = replica.clientID
        for nickname in ["a", "b", "c"] { try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: nickname)), accountID: account) }
        try replica.apply(
            PushOutcome(results: [.init(id: 1, status: .applied), .init(id: 2, status: .rejected, code: "invalid_args")], lastMutationID: 2))
        var page = ReplicaPages.page([], reset: [.public], lastMutationID: 2)
        page.resetEpochs = [.public: "ep-1"]
        try replica.apply(page)
        let new = try replica.startNewClient()
        #expect(new != old && replica.clientID == new)
        #expect(try replica.pendingMutations().map(\.id) == [1] && replica.pendingMutations().first?.hlc.node == new)
        #expect(try replica.outbox().map(\.code) == ["invalid_args", nil])
        #expect(try replica.epochs().isEmpty && replica.cursors()[ReplicaPages.user] == 2 && replica.lastConfirmedMutationID() == 0)
        #expect(try replica.profile(accountID: account)?.nickname == "c")
        #expect(try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "d")), accountID: account).hlc.node == new)
    }
}
