import Foundation
import HummingbirdTesting
import OneTripAPI
import SyncCore
import Testing

@testable import AppAPI

/// The real replica and sync engine against the real server: a phone offline for a week with 50 queued mutations
/// comes back and ends up with exactly the server's state; every case action a citizen can take offline goes
/// through sync.
@Suite struct OfflinePhoneTests {
    @Test(arguments: TestEngine.enabled)
    func aWeekOfflineWithFiftyQueuedMutationsSyncsToTheExactServerState(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let session = try await client.loginCitizen(device: "手机")
            let me = session.account.id
            let link = RouterSyncTransport(client: client, token: session.accessToken)
            let phone = try Replica(path: nil)
            let engine = SyncEngine(replica: phone, transport: link.transport)
            try await engine.sync()
            let matter = try #require(try phone.searchMatters("二手房买卖").first { $0.code == "330100-RE-0004" })
            let idCardOnly = try #require(try phone.searchMatters(nil, limit: 500).first { $0.idCardOnly })
            #expect(try phone.count(.matter) >= 80, "the catalog is offline")

            // Before leaving: one case submitted online, which a clerk will approve during the week.
            let early = "case_early_0001"
            try phone.mutate(CaseSaveDraft.self, .init(caseId: early, matter: idCardOnly, fields: ["备注": "出门前提交"]), accountID: me)
            try phone.mutate(CaseSubmit.self, .init(caseId: early, materials: []), accountID: me)
            try await engine.sync()

            // The week offline: 50 mutations queue up.
            link.online = false
            var queued = 0
            func queue<M: Mutator>(_ mutator: M.Type, _ args: M.Args) throws {
                try phone.mutate(mutator, args, accountID: me)
                queued += 1
            }
            for day in 1...7 {
                try queue(ProfileUpdate.self, .init(changes: .init(nickname: "第\(day)天", address: "杭州市西湖区文三路\(day)号")))
            }
            let welcome = try #require(try phone.messages().first)
            try queue(MessageMarkRead.self, .init(messageId: welcome.id))
            for n in 1...5 {
                let id = "case_offline_\(n)"
                try queue(CaseSaveDraft.self, .init(caseId: id, matter: matter, fields: ["房屋坐落": "上城区\(n)号", "成交价": "\(300 + n)万"]))
                for edit in 1...5 { try queue(CaseSaveDraft.self, .init(caseId: id, matter: matter, fields: ["备注": "第\(edit)次修改"])) }
                if n <= 3 {
                    let materials = matter.materials.filter(\.required).map { SubmittedMaterial(name: $0.name, paper: true) }
                    try queue(CaseSubmit.self, .init(caseId: id, materials: materials))
                }
            }
            try queue(CaseWithdraw.self, .init(caseId: "case_offline_3", reason: "改天再办"))
            try queue(CaseWithdraw.self, .init(caseId: early, reason: "不需要了"))
            while queued < 50 { try queue(ProfileUpdate.self, .init(changes: .init(notifySMS: queued % 2 == 0))) }
            #expect(try phone.pendingMutations().count == 50)
            await #expect(throws: (any Error).self) { try await engine.sync() }

            // Meanwhile the clerk approves the early case, and the citizen's tablet renames later than the phone did.
            let clerk = try await client.loginStaff((username: "clerk.police", password: "Clerk2026police"))
            for action in ["accept", "startReview", "approve"] {
                let response = try await client.act(clerk.accessToken, early, action)
                #expect(response.status == .ok, "\(action): \(response.text)")
            }
            let tablet = try await client.loginCitizen(device: "平板")
            let later = HLC(physical: HybridLogicalClock.systemMillis() + 1000, node: "tablet-0001")
            _ = try await client.push(
                tablet.accessToken, clientID: "tablet-0001", mutations: [mutation(1, "profile.update", ["changes": ["nickname": "平板改名"]], hlc: later)]
            )

            // Back online.
            link.online = true
            let report = try await engine.sync()
            #expect(report.pushed == 50)
            let outbox = try phone.outbox()
            #expect(
                outbox.filter { $0.status == .rejected }.map(\.code) == ["invalid_transition"], "only the withdraw that lost the race to approval")
            #expect(outbox.filter { $0.status == .pending }.isEmpty)

            // The phone now equals the server: compare with a fresh replica of the same account.
            let fresh = try Replica(path: nil)
            try await SyncEngine(replica: fresh, transport: RouterSyncTransport(client: client, token: session.accessToken).transport).sync()
            #expect(try phone.profile(accountID: me) == fresh.profile(accountID: me))
            #expect(try phone.profile(accountID: me)?.nickname == "平板改名", "the later edit wins")
            #expect(try phone.entities(Case.self, in: .user(me)) == fresh.entities(Case.self, in: .user(me)))
            #expect(try phone.messages() == fresh.messages())
            let cases = try Dictionary(uniqueKeysWithValues: phone.entities(Case.self, in: .user(me)).map { ($0.id, $0) })
            #expect(cases[early]?.state == .approved)
            #expect(cases["case_offline_1"]?.state == .submitted && cases["case_offline_1"]?.form["备注"] == "第5次修改")
            #expect(cases["case_offline_3"]?.state == .withdrawn)
            #expect(cases["case_offline_5"]?.state == .draft)
            #expect(try phone.messages().first { $0.id == welcome.id }?.readAt != nil)
            // Exactly once: a second sync pushes nothing and changes nothing.
            let again = try await engine.sync()
            #expect(again.pushed == 0)
            #expect(try phone.entities(Case.self, in: .user(me)) == fresh.entities(Case.self, in: .user(me)))
            // The server's own view agrees: five offline cases (two still drafts) plus the early one.
            let server = try await client.get("/v1/cases", token: session.accessToken).json(Components.Schemas.CaseList.self)
            #expect(server.items.count == 6)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func offlineSupplementAndRatingGoThroughSync(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let session = try await client.loginCitizen()
            let me = session.account.id
            let clerk = try await client.loginStaff(Clerks.realEstate)
            let link = RouterSyncTransport(client: client, token: session.accessToken)
            let phone = try Replica(path: nil)
            let engine = SyncEngine(replica: phone, transport: link.transport)
            try await engine.sync()
            let matter = try #require(try phone.searchMatters("二手房买卖").first { $0.code == "330100-RE-0004" })
            let required = matter.materials.filter(\.required).map(\.name)
            try phone.mutate(CaseSaveDraft.self, .init(caseId: "case_sup_0001", matter: matter, fields: [:]), accountID: me)
            try phone.mutate(CaseSubmit.self, .init(caseId: "case_sup_0001", materials: required.map { .init(name: $0, paper: true) }), accountID: me)
            try await engine.sync()
            #expect(try await client.act(clerk.accessToken, "case_sup_0001", "requestCorrection", ["correctionItems": ["结婚证"]]).status == .ok)
            try await engine.sync()
            #expect(try phone.entity(Case.self, id: "case_sup_0001")?.state == .correctionRequired)
            // Offline supplement, synced later.
            link.online = false
            try phone.mutate(CaseSupplement.self, .init(caseId: "case_sup_0001", materials: [.init(name: "结婚证", paper: true)]), accountID: me)
            #expect(try phone.entity(Case.self, id: "case_sup_0001")?.state == .submitted, "optimistic")
            link.online = true
            try await engine.sync()
            for (action, extra) in [
                ("accept", [:]), ("startReview", [:]), ("approve", [:]), ("deliver", ["deliveryMethod": "e_license"]), ("complete", [:]),
            ] as [(String, [String: Any])] {
                #expect(try await client.act(clerk.accessToken, "case_sup_0001", action, extra).status == .ok)
            }
            try await engine.sync()
            // Offline rating, synced later.
            link.online = false
            try phone.mutate(CaseRate.self, .init(caseId: "case_sup_0001", level: 5, comment: "一次都没跑"), accountID: me)
            link.online = true
            try await engine.sync()
            let server = try await client.get("/v1/cases/case_sup_0001", token: session.accessToken).json(CaseView.self)
            #expect(server.rating?.level == 5 && server.state == .completed)
        }
    }
}
