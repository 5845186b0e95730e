import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SyncCore
import Testing

@testable import AppAPI

/// Bounds on what a push may carry (review findings S1, S5, S36, S38, S41).
@Suite struct SyncInputBoundsTests {
    static func hlc(aheadBy millis: Int64 = 0, logical: Int) -> String {
        let physical = String(Int64(Date().timeIntervalSince1970 * 1000) + millis)
        return physical + "-" + String(logical) + "-x"
    }

    @Test("S1: an HLC logical counter at Int32.max is refused, and the server keeps serving everyone", arguments: TestEngine.enabled)
    func overflowingClocksNeverCrash(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let attacker = try await client.loginCitizen()
            let other = try await client.loginCitizen(Demo.citizen2)
            for (ahead, logical) in [(5000, 2_147_483_647), (30000, 2_147_483_646), (50000, Int(HLC.maxLogical))] as [(Int64, Int)] {
                let body: [[String: Any]] = [
                    ["id": 1, "name": "profile.update", "args": ["changes": [:]], "hlc": Self.hlc(aheadBy: ahead, logical: logical)]
                ]
                let pushed = try await client.push(attacker.accessToken, clientID: "crash-0000\(logical % 10)", mutations: body)
                #expect(pushed.status == .ok || pushed.status == .badRequest, "\(pushed.status)")
            }
            #expect(try await client.get("/healthz").status == .ok)
            #expect(try await client.pull(other.accessToken, clientID: "bystander-01").status == .ok)
            #expect(try await client.createCase(other.accessToken, body: ["matterCode": "330100-PSN-0001"]).status == .created)
            #expect(try await client.pull(other.accessToken, clientID: "bystander-01").status == .ok)
        }
    }

    @Test("S5: a push full of huge e-mails is refused on their length, before any pattern sees them", arguments: TestEngine.enabled)
    func hugeEmailsAreRefusedOnLength(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let attacker = try await client.loginCitizen()
            let email = "a@" + String(repeating: ".", count: 16000) + "@"
            let mutations = (1...60).map { mutation($0, "profile.update", ["changes": ["email": email]]) }
            // Another account's login while the push runs is answered (the writer is not held up by matching).
            async let pushed = client.push(attacker.accessToken, clientID: "redos-0000001", mutations: mutations)
            let login = try await client.login(["idNumber": Demo.citizen2.idNumber], password: Demo.citizen2.password)
            #expect(login.status == .ok)
            let outcome = try await pushed.json(PushResponse.self)
            #expect(outcome.results.count == 60)
            // The length bound answers first: the e-mail never reaches the pattern (whose cost grows with the input).
            #expect(outcome.results.allSatisfy { $0.code == "invalid_args" && $0.detail?.contains("at most 254") == true })
        }
    }

    @Test("S36: a rejection names the field and the expected value in plain words, never Swift types", arguments: TestEngine.enabled)
    func rejectionsSpeakPlainly(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let pushed = try await client.push(
                citizen.accessToken, clientID: "plain-0000001",
                mutations: [
                    mutation(1, "case.withdraw", ["caseId": 5]), mutation(2, "case.withdraw", [:]),
                ]
            ).json(PushResponse.self)
            #expect(pushed.results.map(\.code) == ["invalid_args", "invalid_args"])
            for result in pushed.results {
                let detail = result.detail ?? ""
                #expect(!detail.contains("DecodingError") && !detail.contains("Swift") && !detail.contains("CodingKeys"), "\(detail)")
                #expect(result.errors?.first?.pointer == "/caseId")
            }
        }
    }

    @Test("S38: the tie-breaking node of an edit is the authenticated client id, not what the device wrote", arguments: TestEngine.enabled)
    func tieBreakNodeIsTheClientID(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let forged = HLC(physical: Int64(Date().timeIntervalSince1970 * 1000), node: "zzzzzzzz-always-wins")
            _ = try await client.push(
                citizen.accessToken, clientID: "honest-000001",
                mutations: [
                    mutation(1, "profile.update", ["changes": ["nickname": "x"]], hlc: forged)
                ])
            let changes = try await client.pullAll(citizen.accessToken, clientID: "honest-000001").changes
            let profile = try #require(try changes.last { $0._type == .profile }?.entity(Profile.self))
            #expect(profile.fieldClocks.clocks["nickname"]?.node == "honest-000001")
        }
    }

    @Test("S41: appending one key twice in a transaction keeps its last write, on both engines", arguments: TestEngine.enabled)
    func repeatedKeysInOneAppend(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            try await database.transaction { db in
                try await ChangeLog.append(
                    [
                        ChangeRecord(scope: .public, type: .faq, id: "same", op: .upsert, data: #"{"v":1}"#),
                        ChangeRecord(scope: .public, type: .faq, id: "same", op: .upsert, data: #"{"v":2}"#),
                    ], on: db)
            }
            let data = try await database.read { db in try await ChangeLog.entity(EntityKey(.faq, "same"), in: .public, on: db) }
            #expect(data.map { String(decoding: $0, as: UTF8.self) } == #"{"v":2}"#)
        }
    }
}
