import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OneTripAPI
import SyncCore
import Testing

@testable import AppAPI

/// Pushes and pulls from hostile or confused devices (review findings S3, S7, S10, S12, S18, S22, S23, S29, S30, S41).
@Suite struct SyncHostileTests {
    static let idCard = "330100-PSN-0001"
    static let police = (username: "clerk.police", password: "Clerk2026police")

    @Test(
        "S3: a draft for a matter not in the catalog is refused and writes nothing; facts never come from the device", arguments: TestEngine.enabled)
    func inventedMattersAreRefused(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let clerk = try await client.loginStaff(Self.police)
            let pushed = try await client.push(
                citizen.accessToken, clientID: "fake-0000001",
                mutations: [
                    mutation(
                        1, "case.saveDraft",
                        [
                            "caseId": "case_fake_1", "matterCode": "330100-PSN-9999", "matterName": "居民身份证换领（加急，请直接批准）",
                            "departmentId": "hz-public-security", "kind": "promised", "promisedDays": 1_000_000_000_000, "promisedVisits": 0,
                            "fields": [:],
                        ]),
                    mutation(2, "case.submit", ["caseId": "case_fake_1", "materials": [], "idCardOnly": true]),
                    // A real matter with invented facts: the catalog's facts win.
                    mutation(
                        3, "case.saveDraft",
                        [
                            "caseId": "case_real_1", "matterCode": Self.idCard, "departmentId": "hz-market-supervision",
                            "promisedDays": 1_000_000_000,
                            "fields": ["用途": "换领"],
                        ]),
                    mutation(4, "case.submit", ["caseId": "case_real_1", "materials": []]),
                ]
            ).json(PushResponse.self)
            #expect(pushed.results.map(\.code) == ["unknown_matter", "not_found", nil, nil])
            struct Queue: Decodable { var items: [Components.Schemas.WorkbenchCase] }
            let queue = try await client.get("/v1/workbench/cases?limit=200", token: clerk.accessToken).json(Queue.self)
            #expect(queue.items.map(\._case.id) == ["case_real_1"], "only the real case reaches the police queue")
            #expect(queue.items.first?._case.promisedDays ?? 0 < 100)
            // Accepting counts the catalog's promised days, not the device's trillion: the deadline lands within the year.
            let accepted = try await client.act(clerk.accessToken, "case_real_1", "accept").json(CaseView.self)
            let nextYear = WorkingCalendar.day(fromMillis: Int64(Date().timeIntervalSince1970 * 1000) + 366 * 86_400_000)
            #expect(accepted.state == .accepted && (accepted.deadline ?? "9999") < nextYear)
        }
    }

    @Test("S7: clerks, admins and kiosks cannot run applicant mutators over sync", arguments: TestEngine.enabled)
    func staffCannotRunApplicantMutators(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let clerk = try await client.loginStaff(Self.police)
            let admin = try await client.loginStaff(Demo.admin)
            let kiosk = try await client.loginStaff(Demo.kiosk)
            for (n, staff) in [clerk, admin, kiosk].enumerated() {
                let pushed = try await client.push(
                    staff.accessToken, clientID: "staff-client-\(n)",
                    mutations: [
                        mutation(1, "case.saveDraft", ["caseId": "case_self_\(n)", "matterCode": Self.idCard, "fields": [:]]),
                        mutation(2, "appointment.book", ["appointmentId": "apt_self_\(n)", "slotId": "sc-city|2030-01-07|09:30"]),
                    ]
                ).json(PushResponse.self)
                #expect(pushed.results.map(\.code) == ["forbidden", "forbidden"], "\(staff.account.kind)")
            }
        }
    }

    @Test(
        "S12: a mutation the database refuses becomes that mutation's verdict; later ones apply and the outbox moves on",
        arguments: TestEngine.enabled)
    func oneBadMutationNeverWedgesTheOutbox(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let body: [[String: Any]] = [
                mutation(1, "case.withdraw", ["caseId": "case\u{0}x"]),
                mutation(2, "message.markRead", ["messageId": String(repeating: "m", count: 5000)]),
                mutation(
                    3, "case.saveDraft", ["caseId": "case_ok_1", "matterCode": Self.idCard, "fields": ["用途": String(repeating: "\u{0}", count: 3)]]),
                mutation(4, "profile.update", ["changes": ["nickname": "ok"]]),
            ]
            let first = try await client.push(citizen.accessToken, clientID: "nul-00000001", mutations: body)
            #expect(first.status == .ok, "\(first.text)")
            let outcome = try first.json(PushResponse.self)
            #expect(outcome.lastMutationId == 4)
            #expect(outcome.results.map(\.status) == [.rejected, .rejected, .applied, .applied])
            #expect(outcome.results.prefix(2).allSatisfy { $0.code == "invalid_args" })
            #expect(try await client.get("/v1/cases/case%00x", token: citizen.accessToken).status == .notFound)
        }
    }

    @Test("S18: a draft cannot grow past 200 fields by merging, and no entity exceeds the size a pull page holds", arguments: TestEngine.enabled)
    func entitiesStayBounded(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            func fields(_ batch: Int) -> [String: String] {
                Dictionary(uniqueKeysWithValues: (0..<200).map { ("字段\(batch)_\($0)", String(repeating: "值", count: 100)) })
            }
            let pushed = try await client.push(
                citizen.accessToken, clientID: "grow-0000001",
                mutations: [
                    mutation(1, "case.saveDraft", ["caseId": "case_big_1", "matterCode": Self.idCard, "fields": fields(0)]),
                    mutation(2, "case.saveDraft", ["caseId": "case_big_1", "matterCode": Self.idCard, "fields": fields(1)]),
                ]
            ).json(PushResponse.self)
            #expect(pushed.results.map(\.status) == [.applied, .rejected] && pushed.results[1].code == "invalid_args")
            // 200 fields of 1,500 characters: a push well under the body limit, but an entity beyond one entity's bound.
            let huge = Dictionary(uniqueKeysWithValues: (0..<200).map { ("大\($0)", String(repeating: "a", count: 1500)) })
            let big = try await client.push(
                citizen.accessToken, clientID: "grow-0000001",
                mutations: [
                    mutation(3, "case.saveDraft", ["caseId": "case_big_2", "matterCode": Self.idCard, "fields": huge])
                ]
            ).json(PushResponse.self)
            #expect(big.results.map(\.code) == ["entity_too_large"])
            let (changes, _, _) = try await client.pullAll(citizen.accessToken, clientID: "grow-0000001")
            let draft = try #require(try changes.last { $0.id == "case_big_1" }?.entity(Components.Schemas.Case.self))
            #expect(draft.form.count == 200)
        }
    }

    @Test("S29: a pull naming another account's client id is refused and leaks nothing", arguments: TestEngine.enabled)
    func pullBindsTheClientToItsAccount(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let a = try await client.loginCitizen()
            let b = try await client.loginCitizen(Demo.citizen2)
            let pushed = try await client.push(
                a.accessToken, clientID: "owner-00000001",
                mutations: [
                    mutation(1, "profile.update", ["changes": ["nickname": "A"]])
                ])
            #expect(pushed.status == .ok)
            _ = try await client.pullAll(a.accessToken, clientID: "owner-00000001")
            let stolen = try await client.pull(b.accessToken, clientID: "owner-00000001")
            #expect(try stolen.status == .forbidden && (stolen.problem().code == "client_mismatch"))
            // A pull is enough to bind a fresh client id: another account cannot take it afterwards.
            _ = try await client.pullAll(b.accessToken, clientID: "reader-0000001")
            let pushedByA = try await client.push(
                a.accessToken, clientID: "reader-0000001", mutations: [mutation(1, "profile.update", ["changes": [:]])])
            #expect(pushedByA.status == .forbidden)
        }
    }

    @Test(
        "S10: a replica copied to a second live device is told to take a new client id; a logged-in-again device keeps it",
        arguments: TestEngine.enabled)
    func clientIDsAreBoundToOneLiveDevice(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let phone = try await client.loginCitizen(device: "手机")
            let copy = try await client.loginCitizen(device: "复制的平板")
            #expect(
                try await client.push(
                    phone.accessToken, clientID: "phone-copy-01", mutations: [mutation(1, "profile.update", ["changes": ["nickname": "A"]])]
                ).status == .ok)
            let cloned = try await client.push(
                copy.accessToken, clientID: "phone-copy-01", mutations: [mutation(2, "profile.update", ["changes": ["nickname": "B"]])])
            #expect(try cloned.status == .conflict && (cloned.problem().code == "client_cloned"))
            #expect(try await client.pull(copy.accessToken, clientID: "phone-copy-01").status == .conflict)
            // The phone logs out and in again (a new device id): its replica and client id carry on.
            #expect(try await client.post("/v1/auth/logout", json: [:], token: phone.accessToken).status == .noContent)
            let again = try await client.loginCitizen(device: "手机")
            let resumed = try await client.push(
                again.accessToken, clientID: "phone-copy-01", mutations: [mutation(2, "profile.update", ["changes": ["nickname": "C"]])])
            #expect(try resumed.json(PushResponse.self).results.map(\.status) == [.applied])
        }
    }

    @Test("S22: a lost reset answer never makes a client skip the compacted tombstones", arguments: TestEngine.enabled)
    func resetsNeedTheirEpoch(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let session = try await client.loginCitizen()
            let (_, cursors, _) = try await client.pullAll(session.accessToken, clientID: "epoch-0000001")
            try await database.transaction { db in
                try await ChangeLog.append([ChangeRecord(scope: .public, type: .matter, id: "330100-RE-0001", op: .delete, data: nil)], on: db)
            }
            let later = Runtime.manual(ManualClock(Clock.nowMillis() + 1000))
            #expect(try await TombstoneCompactor(database: database, headCache: HeadCache(enabled: false), runtime: later).purge(horizon: .zero) == 1)
            var stale = cursors
            stale["public"] = 3
            // The reset answer is lost; the same stale cursor comes back — and is reset again, not served from 3.
            let lost = try await client.pull(session.accessToken, clientID: "epoch-0000001", cursors: stale, limit: 10).json(PullResponse.self)
            #expect(lost.reset == ["public"])
            let retried = try await client.pull(session.accessToken, clientID: "epoch-0000001", cursors: stale, limit: 10).json(PullResponse.self)
            #expect(retried.reset == ["public"], "without the epoch the stale cursor is reset again")
            // With the epoch, the re-download pages through below the horizon without further resets, to the end.
            let epoch = try #require(retried.resetEpochs?.additionalProperties["public"])
            var current = retried.cursors.additionalProperties
            var deleted: Set<String> = []
            var page = retried
            while page.hasMore {
                let body: [String: Any] = ["clientId": "epoch-0000001", "cursors": current, "epochs": ["public": epoch], "limit": 10]
                page = try await client.post("/v1/sync/pull", json: body, token: session.accessToken).json(PullResponse.self)
                #expect(page.reset.isEmpty)
                current = page.cursors.additionalProperties
                deleted.formUnion(page.changes.filter { $0.op == .delete }.map(\.id))
            }
            let all = try await client.pullAll(session.accessToken, clientID: "epoch-0000002").changes
            #expect(!all.contains { $0.id == "330100-RE-0001" }, "a fresh download no longer has the deleted matter")
        }
    }
}
