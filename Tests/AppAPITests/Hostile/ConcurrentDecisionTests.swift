import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OneTripAPI
import SyncCore
import Testing

@testable import AppAPI

/// S4: on PostgreSQL concurrent writers must behave exactly as on the single SQLite writer — every read-modify-write
/// locks what it reads before deciding.
@Suite struct ConcurrentDecisionTests {
    static let police = (username: "clerk.police", password: "Clerk2026police")
    /// 居民身份证换领: the police department's, no materials.
    static let idCard = "330100-PSN-0001"

    @Test("S4: two clerks' exclusive decisions on one case — exactly one wins, every round", arguments: TestEngine.enabled)
    func exclusiveDecisionsOneWinner(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let clerk = try await client.loginStaff(Self.police)
            for round in 0..<12 {
                let created = try await client.createCase(citizen.accessToken, body: ["matterCode": Self.idCard, "form": ["用途": "换领"]])
                let id = try #require(try created.json(Components.Schemas.CaseList.self).items.first?.id)
                async let accept = client.act(clerk.accessToken, id, "accept")
                async let reject = client.act(clerk.accessToken, id, "rejectIntake", ["note": "材料不符 \(round)"])
                let statuses = [try await accept.status, try await reject.status]
                #expect(statuses.filter { $0 == .ok }.count == 1 && statuses.filter { $0 == .conflict }.count == 1, "round \(round): \(statuses)")
                let stored = try await client.get("/v1/cases/\(id)", token: citizen.accessToken).json(CaseView.self)
                let decisions = stored.timeline.filter { ["accept", "rejectIntake"].contains($0.action) }
                #expect(decisions.count == 1, "the timeline holds only the winner")
                #expect(stored.state == (statuses[0] == .ok ? .accepted : .intakeRejected))
            }
        }
    }

    @Test("S4: a clerk's approve racing the citizen's withdraw — exactly one takes effect", arguments: TestEngine.enabled)
    func approveRacingWithdraw(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let clerk = try await client.loginStaff(Self.police)
            for round in 0..<10 {
                let created = try await client.createCase(citizen.accessToken, body: ["matterCode": Self.idCard, "form": ["用途": "换领"]])
                let id = try #require(try created.json(Components.Schemas.CaseList.self).items.first?.id)
                for action in ["accept", "startReview"] { #expect(try await client.act(clerk.accessToken, id, action).status == .ok) }
                async let approve = client.act(clerk.accessToken, id, "approve")
                async let withdraw = client.post("/v1/cases/\(id)/withdraw", json: ["reason": "不办了 \(round)"], token: citizen.accessToken)
                let (approved, withdrawn) = (try await approve.status, try await withdraw.status)
                #expect([approved, withdrawn].filter { $0 == .ok }.count == 1, "round \(round): approve \(approved), withdraw \(withdrawn)")
                let stored = try await client.get("/v1/cases/\(id)", token: citizen.accessToken).json(CaseView.self)
                #expect(stored.state == (approved == .ok ? .approved : .withdrawn))
            }
        }
    }

    @Test("S4: two devices of one account edit different profile fields at once — both edits survive", arguments: TestEngine.enabled)
    func concurrentProfileEditsOnDifferentFieldsBothSurvive(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let phone = try await client.loginCitizen(device: "手机")
            let tablet = try await client.loginCitizen(device: "平板")
            for round in 0..<5 {
                // The phone edits the profile first and then pushes slow draft edits, so the tablet's edit commits while the
                // phone's transaction is still open: without a lock the phone would write back the profile it read first.
                var long = [mutation(round * 41 + 1, "profile.update", ["changes": ["nickname": "手机\(round)"]])]
                long += (1...40).map { n in
                    mutation(
                        round * 41 + n + 1, "case.saveDraft",
                        [
                            "caseId": "case_long_\(round)_\(n)", "matterCode": Self.idCard, "fields": ["备注": String(repeating: "长", count: 2000)],
                        ])
                }
                async let fromPhone = client.push(phone.accessToken, clientID: "phone-profile-01", mutations: long)
                async let fromTablet = client.push(
                    tablet.accessToken, clientID: "tablet-profile-01",
                    mutations: [mutation(round + 1, "profile.update", ["changes": ["email": "t\(round)@example.cn"]])])
                let results = try await [fromPhone, fromTablet].map { try $0.json(PushResponse.self).results.map(\.status) }
                #expect(results.allSatisfy { $0.allSatisfy { $0 == .applied } }, "\(results)")
                let changes = try await client.pullAll(phone.accessToken, clientID: "phone-profile-01").changes
                let profile = try #require(try changes.last { $0._type == .profile }?.entity(Profile.self))
                #expect(profile.nickname == "手机\(round)" && profile.email == "t\(round)@example.cn", "round \(round)")
            }
        }
    }
}
