import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OneTripAPI
import SQLKit
import SyncCore
import Testing

@testable import AppAPI

typealias CaseView = Components.Schemas.Case

enum Clerks {
    static let realEstate = (username: "clerk.realestate", password: "Clerk2026realestate")
    static let market = (username: "clerk.market", password: "Clerk2026market")
}

extension TestClientProtocol {
    func createCase(_ token: String, key: String = UUID().uuidString, body: [String: Any]) async throws -> TestResponse {
        try await execute(
            uri: "/v1/cases", method: .post,
            headers: [.contentType: "application/json", .authorization: "Bearer \(token)", HTTPField.Name("Idempotency-Key")!: key],
            body: try jsonBody(body))
    }

    func act(_ token: String, _ caseID: String, _ action: String, _ extra: [String: Any] = [:]) async throws -> TestResponse {
        var body: [String: Any] = ["action": action]
        for (k, v) in extra { body[k] = v }
        return try await post("/v1/workbench/cases/\(caseID)/actions", json: body, token: token)
    }
}

/// The three materials of 二手房买卖不动产转移登记, brought on paper (the demo citizen holds no 不动产权证书; the
/// wallet's tests cite licenses as materials).
var transferMaterials: [[String: Any]] {
    [["name": "买卖双方居民身份证", "paper": true], ["name": "不动产权证书", "paper": true], ["name": "存量房买卖合同（网签备案）", "paper": true]]
}

@Suite struct CaseJourneyTests {
    @Test(arguments: TestEngine.enabled)
    func aRealEstateTransferIsDecidedSameDayWithOneVisit(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let clerk = try await client.loginStaff(Clerks.realEstate)
            let created = try await client.createCase(
                citizen.accessToken, body: ["matterCode": "330100-RE-0004", "form": ["房屋坐落": "上城区望江东路1号1幢101室"], "materials": transferMaterials])
            #expect(created.status == .created, "\(created.text)")
            let caseFile = try #require(try created.json(Components.Schemas.CaseList.self).items.first)
            #expect(caseFile.state == .submitted && caseFile.form["房屋坐落"] != nil)
            // The clerk sees it in the department queue.
            struct Queue: Decodable { var items: [Components.Schemas.WorkbenchCase] }
            let queue = try await client.get("/v1/workbench/cases?state=submitted", token: clerk.accessToken).json(Queue.self)
            #expect(queue.items.contains { $0._case.id == caseFile.id && $0.allowedActions?.contains("accept") == true })
            for (action, extra) in [
                ("accept", [:]), ("recordVisit", ["note": "现场核验原件"]), ("startReview", [:]), ("approve", [:]),
                ("deliver", ["deliveryMethod": "window"]), ("complete", [:]),
            ] as [(String, [String: Any])] {
                let response = try await client.act(clerk.accessToken, caseFile.id, action, extra)
                #expect(response.status == .ok, "\(action): \(response.text)")
            }
            let final = try await client.get("/v1/cases/\(caseFile.id)", token: citizen.accessToken).json(CaseView.self)
            #expect(final.state == .completed && final.visits == 1 && final.delivery?.method == .window)
            let today = WorkingCalendar.day(fromMillis: Int64(Date().timeIntervalSince1970 * 1000))
            #expect(final.deadline ?? "" >= today, "即办件: due the day it is accepted (or the next working day)")
            #expect(final.timeline.map(\.action).contains("recordVisit"))
            // Every state change reached the applicant as a message, through sync.
            let (changes, _, _) = try await client.pullAll(citizen.accessToken, clientID: "phone-0001", cursors: ["user:\(citizen.account.id)": 0])
            let messages = try changes.filter { $0._type == .message }.map { try $0.entity(Message.self) }.filter { $0.subjectID == caseFile.id }
            #expect(messages.count >= 6, "one message per state change")
            // Nobody else reads it.
            let other = try await client.loginCitizen(Demo.citizen2)
            #expect(try await client.get("/v1/cases/\(caseFile.id)", token: other.accessToken).status == .notFound)
            // The ledger counts it: one visit, promised one — the promise held.
            let stats = try await client.get("/v1/stats").json(Components.Schemas.Stats.self)
            let department = try #require(stats.departments.first { $0.departmentId == "hz-realestate-center" })
            #expect(department.cases == 1 && department.maxVisits == 1 && department.brokenPromises == 0 && department.onTimeRate == 1)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func aBusinessStartBundleFansOutIntoLinkedCases(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let company = try await client.login(["creditCode": Demo.enterprise.creditCode], password: Demo.enterprise.password).json(
                TokenResponse.self)
            let names = [
                "公司登记（备案）申请书", "公司章程", "股东主体资格证明", "法定代表人、董事、监事和经理的任职文件", "住所使用证明", "营业执照", "法定代表人居民身份证",
                "法定代表人或办税人居民身份证", "住房公积金单位登记表",
            ]
            let created = try await client.createCase(
                company.accessToken, body: ["bundleCode": "BND-BUSINESS-START", "materials": names.map { ["name": $0, "paper": true] }])
            #expect(created.status == .created, "\(created.text)")
            let cases = try created.json(Components.Schemas.CaseList.self).items
            #expect(cases.count == 5 && Set(cases.map(\.departmentId)).count == 5)
            #expect(Set(cases.compactMap(\.bundleSubmissionId)).count == 1, "one bundle submission links them")
            #expect(cases.allSatisfy { $0.state == .submitted })
        }
    }

    @Test(arguments: TestEngine.enabled)
    func missingMaterialsAndRetriesAreHandled(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let missing = try await client.createCase(
                citizen.accessToken, body: ["matterCode": "330100-RE-0004", "materials": Array(transferMaterials.prefix(1))])
            #expect(missing.status == .unprocessableContent)
            #expect(try missing.problem().code == "missing_materials")
            // ID-card-only matters need no materials at all.
            let idCardOnly = try await client.createCase(citizen.accessToken, body: ["matterCode": "330100-PSN-0001"])
            #expect(idCardOnly.status == .created, "\(idCardOnly.text)")
            // The same Idempotency-Key and body return the first answer, creating nothing new; another body is refused.
            let body: [String: Any] = ["matterCode": "330100-RE-0004", "materials": transferMaterials]
            let first = try await client.createCase(citizen.accessToken, key: "retry-key-0001", body: body).json(Components.Schemas.CaseList.self)
            let second = try await client.createCase(citizen.accessToken, key: "retry-key-0001", body: body).json(Components.Schemas.CaseList.self)
            #expect(first.items.map(\.id) == second.items.map(\.id))
            let mine = try await client.get("/v1/cases", token: citizen.accessToken).json(Components.Schemas.CaseList.self)
            #expect(mine.items.count == 2)
            let other = try await client.createCase(citizen.accessToken, key: "retry-key-0001", body: ["matterCode": "330100-PSN-0001"])
            #expect(other.status == .unprocessableContent)
            #expect(try other.problem().code == "idempotency_key_reused")
            #expect(try await client.createCase(citizen.accessToken, key: "short", body: body).status == .badRequest)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func correctionRoundTripAndAWithdrawThatLosesTheRace(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen()
            let clerk = try await client.loginStaff(Clerks.realEstate)
            let caseFile = try #require(
                try await client.createCase(citizen.accessToken, body: ["matterCode": "330100-RE-0004", "materials": transferMaterials]).json(
                    Components.Schemas.CaseList.self
                ).items.first)
            // 补正: every missing item at once.
            let corrected = try await client.act(
                clerk.accessToken, caseFile.id, "requestCorrection", ["correctionItems": ["结婚证", "居民户口簿"], "note": "共有人信息需核实"])
            #expect(try corrected.json(CaseView.self).state == .correctionRequired)
            let partial = try await client.post(
                "/v1/cases/\(caseFile.id)/supplement", json: ["materials": [["name": "结婚证", "paper": true]]], token: citizen.accessToken)
            #expect(partial.status == .unprocessableContent)
            #expect(try partial.problem().code == "missing_materials")
            let full = try await client.post(
                "/v1/cases/\(caseFile.id)/supplement", json: ["materials": [["name": "结婚证", "paper": true], ["name": "居民户口簿", "paper": true]]],
                token: citizen.accessToken)
            #expect(try full.json(CaseView.self).state == .submitted)
            // An illegal clerk move is 409.
            let illegal = try await client.act(clerk.accessToken, caseFile.id, "approve")
            #expect(illegal.status == .conflict)
            #expect(try illegal.problem().code == "invalid_transition")
            // The clerk approves while the applicant's withdraw is on its way: the withdraw loses.
            for action in ["accept", "startReview", "approve"] { #expect(try await client.act(clerk.accessToken, caseFile.id, action).status == .ok) }
            let late = try await client.post("/v1/cases/\(caseFile.id)/withdraw", json: ["reason": "不办了"], token: citizen.accessToken)
            #expect(late.status == .conflict)
            #expect(try late.problem().code == "invalid_transition")
            // A clerk of another department cannot touch it.
            let foreign = try await client.loginStaff(Clerks.market)
            #expect(try await client.act(foreign.accessToken, caseFile.id, "deliver", ["deliveryMethod": "window"]).status == .notFound)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func acceptedPendingCasesTerminateWhenMaterialsNeverArrive(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen()
            let clerk = try await client.loginStaff(Clerks.realEstate)
            let caseFile = try #require(
                try await client.createCase(citizen.accessToken, body: ["matterCode": "330100-RE-0004", "materials": transferMaterials]).json(
                    Components.Schemas.CaseList.self
                ).items.first)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let due = try #require(WorkingCalendar.weekendsOnly.addingWorkingDays(3, to: WorkingCalendar.day(fromMillis: now)))
            let pending = try await client.act(clerk.accessToken, caseFile.id, "acceptPending", ["pendingMaterials": ["结婚证"], "pendingDue": due])
            #expect(try pending.json(CaseView.self).state == .acceptedPending, "\(pending.text)")
            let clock = ManualClock(Int(now))
            let store = CaseStore(database: database, observers: [CaseMessages()], calendar: WorkingCalendarStore(), runtime: .manual(clock))
            let job = PendingMaterialsJob(database: database, cases: store, runtime: .manual(clock))
            #expect(try await job.run().isEmpty, "not before its due date")
            clock.set(Int(try #require(WorkingCalendar.startOfDayMillis(due))) + 2 * 86_400_000)
            #expect(try await job.run() == [caseFile.id])
            let final = try await client.get("/v1/cases/\(caseFile.id)", token: citizen.accessToken).json(CaseView.self)
            #expect(final.state == .terminated && final.timeline.last?.actorKind == .system)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func overdueCasesAreFlaggedAndPoorRatingsOpenRectification(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen()
            let clerk = try await client.loginStaff(Clerks.realEstate)
            let caseFile = try #require(
                try await client.createCase(citizen.accessToken, body: ["matterCode": "330100-RE-0004", "materials": transferMaterials]).json(
                    Components.Schemas.CaseList.self
                ).items.first)
            #expect(try await client.act(clerk.accessToken, caseFile.id, "accept").status == .ok)
            // Time passes: the promised date is moved into the past in storage.
            try await database.transaction { db in
                let store = CaseStore(database: database, observers: [], calendar: WorkingCalendarStore(), runtime: .live)
                var stale = try #require(try await store.load(caseFile.id, on: db))
                let old = stale
                stale.deadline = "2026-01-05"
                try await ChangeLog.append(try await store.persist(old: old, new: stale, on: db), on: db)
            }
            struct Queue: Decodable { var items: [Components.Schemas.WorkbenchCase] }
            let overdue = try await client.get("/v1/workbench/cases?overdue=true", token: clerk.accessToken).json(Queue.self)
            #expect(overdue.items.map(\._case.id) == [caseFile.id] && overdue.items[0].overdue)
            for (action, extra) in [
                ("startReview", [:]), ("approve", [:]), ("deliver", ["deliveryMethod": "express", "trackingNumber": "SF1234567890"]),
                ("complete", [:]),
            ] as [(String, [String: Any])] {
                #expect(try await client.act(clerk.accessToken, caseFile.id, action, extra).status == .ok)
            }
            let stats = try await client.get("/v1/stats").json(Components.Schemas.Stats.self)
            #expect(stats.city.onTimeRate == 0, "decided after its deadline")
            let rated = try await client.post("/v1/cases/\(caseFile.id)/rating", json: ["level": 2, "comment": "等太久"], token: citizen.accessToken)
            #expect(try rated.json(CaseView.self).rating?.level == 2)
            let twice = try await client.post("/v1/cases/\(caseFile.id)/rating", json: ["level": 5], token: citizen.accessToken)
            #expect(try twice.problem().code == "already_rated")
            let after = try await client.get("/v1/stats").json(Components.Schemas.Stats.self)
            #expect(after.city.openRectifications == 1 && after.city.ratings == 1)
            // The department sees the task, due 15 working days after the rating; other departments do not.
            struct Tasks: Decodable { var items: [Components.Schemas.RectificationTask] }
            let tasks = try await client.get("/v1/workbench/rectifications?status=open", token: clerk.accessToken).json(Tasks.self)
            #expect(tasks.items.map(\.caseId) == [caseFile.id] && tasks.items[0].rating == 2 && tasks.items[0].comment == "等太久")
            let today = WorkingCalendar.day(fromMillis: Int64(Date().timeIntervalSince1970 * 1000))
            #expect(tasks.items[0].due > today)
            let other = try await client.loginStaff(Clerks.market)
            #expect(try await client.get("/v1/workbench/rectifications", token: other.accessToken).json(Tasks.self).items.isEmpty)
            #expect(try await client.get("/v1/workbench/rectifications", token: citizen.accessToken).status == .forbidden)
        }
    }
}
