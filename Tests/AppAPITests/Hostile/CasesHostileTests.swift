import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OneTripAPI
import SyncCore
import Testing

@testable import AppAPI

/// Ownership of cases, appointments and files (review findings S2, S9, S11, S19, S24, S25, S34, S37).
@Suite struct CasesHostileTests {
    static let idCard = "330100-PSN-0001"
    static let police = (username: "clerk.police", password: "Clerk2026police")
    static let realEstate = "330100-RE-0003"

    @Test("S2: another account's case id is refused, never taken over — owner, queue and decisions stay intact", arguments: TestEngine.enabled)
    func caseIDsCannotBeHijacked(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let attacker = try await client.loginCitizen()
            let victim = try await client.loginCitizen(Demo.citizen2)
            let clerk = try await client.loginStaff(Self.police)
            let created = try await client.createCase(victim.accessToken, body: ["matterCode": Self.idCard, "form": ["用途": "换领"]])
            let id = try #require(try created.json(Components.Schemas.CaseList.self).items.first?.id)
            let pushed = try await client.push(
                attacker.accessToken, clientID: "atk-0000001",
                mutations: [
                    mutation(1, "case.saveDraft", ["caseId": id, "matterCode": Self.idCard, "fields": ["hijack": "1"]]),
                    mutation(2, "case.submit", ["caseId": id, "materials": []]),
                    mutation(3, "case.withdraw", ["caseId": id]),
                ]
            ).json(PushResponse.self)
            #expect(pushed.results.map(\.code) == ["id_taken", "not_found", "not_found"])
            let mine = try await client.get("/v1/cases/\(id)", token: victim.accessToken)
            #expect(try mine.status == .ok && (mine.json(CaseView.self).accountId == victim.account.id))
            #expect(try mine.json(CaseView.self).form["hijack"] == nil)
            #expect(try await client.get("/v1/cases/\(id)", token: attacker.accessToken).status == .notFound)
            struct Queue: Decodable { var items: [Components.Schemas.WorkbenchCase] }
            let queue = try await client.get("/v1/workbench/cases?limit=200", token: clerk.accessToken).json(Queue.self)
            #expect(queue.items.filter { $0._case.id == id }.map(\._case.accountId) == [victim.account.id])
            #expect(try await client.act(clerk.accessToken, id, "accept").status == .ok)
        }
    }

    @Test("S25: a clerk cannot read a draft; its applicant and (deliberately) admins can", arguments: TestEngine.enabled)
    func draftsAreTheApplicantsAlone(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let clerk = try await client.loginStaff(Self.police)
            let admin = try await client.loginStaff(Demo.admin)
            let created = try await client.createCase(citizen.accessToken, body: ["matterCode": Self.idCard, "form": ["用途": "换领"], "submit": false])
            let id = try #require(try created.json(Components.Schemas.CaseList.self).items.first?.id)
            #expect(try await client.get("/v1/cases/\(id)", token: clerk.accessToken).status == .notFound)
            #expect(try await client.get("/v1/cases/\(id)", token: citizen.accessToken).status == .ok)
            #expect(try await client.get("/v1/cases/\(id)", token: admin.accessToken).status == .ok)
        }
    }

    @Test("S34: a matter declares who may apply; an enterprise cannot apply for an ID card", arguments: TestEngine.enabled)
    func applicantKindsAreChecked(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let login = try await client.login(["creditCode": Demo.enterprise.creditCode], password: Demo.enterprise.password)
            let enterprise = try login.json(TokenResponse.self)
            let refused = try await client.createCase(enterprise.accessToken, body: ["matterCode": Self.idCard])
            #expect(try refused.status == .unprocessableContent && (refused.problem().code == "applicant_kind_not_allowed"))
            let citizen = try await client.loginCitizen()
            #expect(try await client.createCase(citizen.accessToken, body: ["matterCode": Self.idCard]).status == .created)
        }
    }

    @Test("S9: materials cite only the applicant's own uploads; staff read only files their cases cite", arguments: TestEngine.enabled)
    func materialFilesBelongToTheirUploader(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let applicant = try await client.loginCitizen()
            let other = try await client.loginCitizen(Demo.citizen2)
            let realEstateClerk = try await client.loginStaff(Clerks.realEstate)
            let police = try await client.loginStaff(Self.police)
            let admin = try await client.loginStaff(Demo.admin)
            let kiosk = try await client.loginStaff(Demo.kiosk)
            let mine = try await client.upload(applicant.accessToken, Data([0x25, 0x50, 0x44, 0x46, 0x2D]) + Data("我的身份证".utf8))
            let theirs = try await client.upload(other.accessToken, Data([0x25, 0x50, 0x44, 0x46, 0x2D]) + Data("别人的合同".utf8))
            let nobody = String(repeating: "0", count: 64)
            func materials(_ contract: String) -> [[String: Any]] {
                [["name": "买受人居民身份证", "blobSha256": mine], ["name": "商品房买卖合同（网签备案）", "blobSha256": contract], ["name": "契税完税凭证", "paper": true]]
            }
            for foreign in [theirs, nobody] {
                let refused = try await client.createCase(
                    applicant.accessToken, body: ["matterCode": Self.realEstate, "materials": materials(foreign)])
                #expect(try refused.status == .unprocessableContent && (refused.problem().code == "invalid_args"), "\(refused.text)")
            }
            // An uncited upload: only its owner reads it.
            #expect(try await client.get("/v1/blobs/\(mine)", token: applicant.accessToken).status == .ok)
            for staff in [realEstateClerk, police, admin, kiosk, other] {
                #expect(try await client.get("/v1/blobs/\(mine)", token: staff.accessToken).status == .notFound)
            }
            let own = try await client.upload(applicant.accessToken, Data([0x25, 0x50, 0x44, 0x46, 0x2D]) + Data("我的合同".utf8))
            #expect(
                try await client.createCase(applicant.accessToken, body: ["matterCode": Self.realEstate, "materials": materials(own)]).status
                    == .created)
            // Cited by a submitted real-estate case: its department's clerks and admins read it; others still do not.
            let download = try await client.get("/v1/blobs/\(mine)", token: realEstateClerk.accessToken)
            #expect(download.status == .ok)
            #expect(download.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(download.headers[HTTPField.Name("Content-Disposition")!]?.hasPrefix("attachment") == true)
            #expect(try await client.get("/v1/blobs/\(mine)", token: admin.accessToken).status == .ok)
            for outsider in [police, kiosk, other] {
                #expect(try await client.get("/v1/blobs/\(mine)", token: outsider.accessToken).status == .notFound)
            }
        }
    }

    @Test("S11: one Idempotency-Key fired concurrently creates one case; every answer is the same 201", arguments: TestEngine.enabled)
    func idempotencyIsAtomic(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            for round in 0..<5 {
                let key = "same-key-\(round)-\(UUID().uuidString)"
                let answers = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String).self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            let response = try await client.createCase(
                                citizen.accessToken, key: key, body: ["matterCode": Self.idCard, "form": ["用途": "换领"]])
                            return (response.status, response.text)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(answers.allSatisfy { $0.0 == .created }, "\(answers.map(\.0))")
                #expect(Set(answers.map(\.1)).count == 1, "the same answer every time")
                let other = try await client.createCase(citizen.accessToken, key: key, body: ["matterCode": Self.idCard, "form": ["用途": "补领"]])
                #expect(try other.status == .unprocessableContent && (other.problem().code == "idempotency_key_reused"))
            }
            let cases = try await client.get("/v1/cases?limit=200", token: citizen.accessToken).json(Components.Schemas.CaseList.self)
            #expect(cases.items.count == 5)
        }
    }

    @Test("S19: an account holds at most three open appointments", arguments: TestEngine.enabled)
    func appointmentsPerAccountAreLimited(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let day = AppointmentDays.futureWeekday
            for start in ["09:30", "10:30", "11:30"] {
                #expect(try await client.book(citizen.accessToken, "sc-city|\(day)|\(start)").status == .created)
            }
            let fourth = try await client.book(citizen.accessToken, "sc-city|\(day)|14:30")
            #expect(try fourth.status == .conflict && (fourth.problem().code == "appointment_limit"))
        }
    }

    @Test("S24: an appointment id another account holds is refused; a foreign cancel frees nothing", arguments: TestEngine.enabled)
    func appointmentIDsBelongToOneAccount(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let holder = try await client.loginCitizen(Demo.citizen2)
            let attacker = try await client.loginCitizen()
            let slot = "sc-city|\(AppointmentDays.futureWeekday)|09:30"
            #expect(try await client.book(holder.accessToken, slot, id: "apt_shared_1").status == .created)
            let reused = try await client.book(attacker.accessToken, slot, id: "apt_shared_1")
            #expect(reused.status == .conflict, "\(reused.text)")
            #expect(try await client.cancelAppointment(attacker.accessToken, "apt_shared_1").status == .notFound)
            struct SlotList: Decodable {
                struct Slot: Decodable {
                    var id: String
                    var booked: Int
                }
                var items: [Slot]
            }
            let listed = try await client.slots("sc-city", AppointmentDays.futureWeekday).json(SlotList.self).items.first { $0.id == slot }
            #expect(listed?.booked == 1, "the holder's booking stands")
        }
    }

    @Test("S37: the public statistics are computed once per change, not per request", arguments: TestEngine.enabled)
    func statisticsAreCached(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let first = try await client.get("/v1/stats").json(Components.Schemas.Stats.self)
            // Rows written behind the server's back are not seen until a case changes through the server (or a minute).
            try await database.transaction { db in
                try await db.raw(
                    """
                    INSERT INTO case_index (id, account_id, department_id, matter_code, state, visits, promised_visits, updated_at)
                    VALUES ('case_ghost', 'acc_ghost', 'hz-public-security', 'x', 'submitted', 0, 0, 0)
                    """
                ).run()
            }
            #expect(try await client.get("/v1/stats").json(Components.Schemas.Stats.self).city.cases == first.city.cases)
            let citizen = try await client.loginCitizen()
            #expect(try await client.createCase(citizen.accessToken, body: ["matterCode": Self.idCard]).status == .created)
            #expect(try await client.get("/v1/stats").json(Components.Schemas.Stats.self).city.cases == first.city.cases + 2)
        }
    }
}

extension TestClientProtocol {
    /// Uploads `bytes` as a PDF and returns its sha256.
    func upload(_ token: String, _ bytes: Data) async throws -> String {
        let response = try await execute(
            uri: "/v1/blobs", method: .post, headers: [.contentType: "application/pdf", .authorization: "Bearer \(token)"],
            body: ByteBuffer(data: bytes))
        #expect(response.status == .created, "upload failed: \(response.text)")
        return try response.json(Components.Schemas.BlobInfo.self).sha256
    }
}
