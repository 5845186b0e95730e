import Foundation
import SyncCore
import Testing

/// An entity that lives in two scopes — a clerk's own case, in `user:` and in `dept:` — is kept per scope: each copy
/// follows its scope's changes, tombstones and resets, and never hides or deletes the other (S30).
@Suite struct ReplicaScopeTests {
    typealias F = CaseFixtures
    let clock = ManualWallClock()
    static let user = Scope.user(CaseFixtures.applicantID)
    static let department = Scope.department(CaseFixtures.inheritance.departmentId)

    func submitted(_ note: String? = nil) throws -> Case {
        var caseFile = try F.walk(F.draft(F.inheritance), [(.submit, F.applicant, F.at("2026-09-28", 9), nil, .init())])
        caseFile.decisionNote = note
        return caseFile
    }

    /// A replica holding the case in both scopes: user seq 5 (version 1), dept seq 40 (version 1).
    func replica() throws -> Replica {
        let replica = try Replica(path: nil, wallClock: clock.read)
        let caseFile = try submitted()
        try replica.apply(
            ReplicaPages.page([ReplicaPages.upsert(caseFile, in: Self.user, seq: 5), ReplicaPages.upsert(caseFile, in: Self.department, seq: 40)]))
        return replica
    }

    @Test func bothScopesListTheirCopy() throws {
        let replica = try replica()
        #expect(try replica.entities(Case.self, in: Self.department).map(\.id) == ["case_1"])
        #expect(try replica.entities(Case.self, in: Self.user).map(\.id) == ["case_1"])
        #expect(try replica.entities(Case.self).count == 1 && replica.count(.caseFile) == 1, "one entity, listed once")
    }

    @Test("S30: each copy of an entity follows its own scope") func eachCopyFollowsItsOwnScopesSeqNotTheOthersVersion() throws {
        let replica = try replica()
        // The user scope's copy is at version 3 by now; the dept scope's next change has version 2 but a newer seq.
        try replica.apply(ReplicaPages.page([ReplicaPages.upsert(try submitted("user v3"), in: Self.user, seq: 9, version: 3)]))
        let update = try replica.apply(ReplicaPages.page([ReplicaPages.upsert(try submitted("dept v2"), in: Self.department, seq: 41, version: 2)]))
        #expect(update.storedChanges == 1 && update.staleChanges == 0)
        #expect(try replica.entities(Case.self, in: Self.department).map(\.decisionNote) == ["dept v2"])
        #expect(try replica.entities(Case.self, in: Self.user).map(\.decisionNote) == ["user v3"])
        #expect(try replica.entity(Case.self, id: "case_1")?.decisionNote == "user v3", "a lookup by id prefers the account's own copy")
        let stale = try replica.apply(ReplicaPages.page([ReplicaPages.upsert(try submitted("old"), in: Self.department, seq: 40, version: 9)]))
        #expect(stale.staleChanges == 1, "within a scope, seq decides")
    }

    @Test("S30: a tombstone in one scope leaves the other copy") func aTombstoneInOneScopeLeavesTheOtherCopy() throws {
        let replica = try replica()
        try replica.apply(ReplicaPages.page([ReplicaPages.delete(EntityKey(.caseFile, "case_1"), in: Self.department, seq: 41)]))
        #expect(try replica.entities(Case.self, in: Self.department).isEmpty)
        #expect(try replica.entities(Case.self, in: Self.user).map(\.id) == ["case_1"])
        #expect(try replica.entity(Case.self, id: "case_1") != nil)
    }

    @Test("S30: a reset of one scope leaves the other copy") func aResetOfOneScopeLeavesTheOtherCopy() throws {
        let replica = try replica()
        try replica.apply(ReplicaPages.page([], reset: [Self.department]))
        #expect(try replica.entities(Case.self, in: Self.department).isEmpty)
        #expect(try replica.entity(Case.self, id: "case_1")?.id == "case_1")
        #expect(try replica.cursors()[Self.department] == nil && replica.cursors()[Self.user] == 5)
    }

    @Test func aPendingEditShowsOverEitherCopy() throws {
        let replica = try replica()
        try replica.apply(
            ReplicaPages.page([ReplicaPages.upsert(try F.accepted(F.inheritance, on: "2026-09-28"), in: Self.department, seq: 41, version: 2)]))
        // The applicant supplements on this device: both scopes' listings show the resubmitted case at once.
        var accepted = try F.accepted(F.inheritance, on: "2026-09-28")
        accepted.state = .correctionRequired
        accepted.correctionItems = ["亲属关系证明"]
        try replica.apply(ReplicaPages.page([ReplicaPages.upsert(accepted, in: Self.user, seq: 6, version: 2)]))
        try replica.mutate(CaseSupplement.self, .init(caseId: "case_1", materials: F.files(["亲属关系证明"])), accountID: F.applicantID)
        #expect(try replica.entities(Case.self, in: Self.user).map(\.state) == [.submitted])
        #expect(try replica.entities(Case.self, in: Self.department).map(\.state) == [.submitted])
        #expect(try replica.entity(Case.self, id: "case_1")?.state == .submitted)
    }
}
