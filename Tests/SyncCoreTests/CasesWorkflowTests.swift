import Foundation
import SyncCore
import Testing

/// Shared fixtures of the case tests: the 2026 calendar of `seeds/holidays.json`, real matters from
/// `seeds/matters.json`, actors, and China-time instants.
enum CaseFixtures {
    static let calendar2026 = WorkingCalendar(
        holidays: [
            "2026-01-01", "2026-01-02", "2026-01-03", "2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
            "2026-02-21", "2026-02-22", "2026-02-23", "2026-04-04", "2026-04-05", "2026-04-06", "2026-05-01", "2026-05-02", "2026-05-03",
            "2026-05-04", "2026-05-05", "2026-06-19", "2026-06-20", "2026-06-21", "2026-09-25", "2026-09-26", "2026-09-27", "2026-10-01",
            "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07",
        ],
        workdays: ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
    )

    static let applicantID = "acc_zhangwei"
    static let applicant = CaseActor(id: applicantID, kind: .applicant)
    static let clerk = CaseActor(id: "clerk_re_01", kind: .clerk)

    /// 330100-RE-0004 二手房买卖不动产转移登记: 即办件 (60 minutes), one visit.
    static let transfer = Matter(
        code: "330100-RE-0004", name: "二手房买卖不动产转移登记", departmentId: "hz-realestate-center", domain: .realEstate, kind: .immediate,
        legalDays: 30, promisedDays: 0, promisedMinutes: 60, onsiteVisits: 1, fullyOnline: false, idCardOnly: false, expressDelivery: true,
        materials: [
            Material(name: "买卖双方居民身份证", required: true, paperAllowed: true, eLicenseType: "resident_id_card"),
            Material(name: "不动产权证书", required: true, paperAllowed: true, eLicenseType: "real_estate_certificate"),
            Material(name: "存量房买卖合同（网签备案）", required: true, paperAllowed: true),
        ],
        resultLicenseType: "real_estate_certificate"
    )

    /// 330100-RE-0006 继承、受遗赠不动产转移登记: 承诺件, 5 working days, one visit.
    static let inheritance = Matter(
        code: "330100-RE-0006", name: "继承、受遗赠不动产转移登记", departmentId: "hz-realestate-center", domain: .realEstate, kind: .promised,
        legalDays: 30, promisedDays: 5, onsiteVisits: 1, fullyOnline: false, idCardOnly: false, expressDelivery: true,
        materials: ["继承人居民身份证", "不动产权证书", "被继承人死亡证明", "亲属关系证明", "继承权公证书或全体继承人放弃继承声明"].map {
            Material(name: $0, required: true, paperAllowed: true)
        }
    )

    /// 330100-RE-0009 不动产抵押权首次登记: 承诺件, 1 working day, no visit.
    static let mortgage = Matter(
        code: "330100-RE-0009", name: "不动产抵押权首次登记", departmentId: "hz-realestate-center", domain: .realEstate, kind: .promised,
        legalDays: 30, promisedDays: 1, onsiteVisits: 0, fullyOnline: true, idCardOnly: false, expressDelivery: true
    )

    /// Milliseconds since 1970 at `hour:minute` China time on `day`.
    static func at(_ day: String, _ hour: Int, _ minute: Int = 0) -> Int64 {
        WorkingCalendar.startOfDayMillis(day)! + Int64(hour * 60 + minute) * 60_000
    }

    /// A fresh draft of `matter` owned by `applicantID`.
    static func draft(_ matter: Matter, id: String = "case_1") -> Case {
        Case(
            id: id, accountId: applicantID, matterCode: matter.code, matterName: matter.name, departmentId: matter.departmentId, kind: matter.kind,
            promisedDays: matter.promisedDays, promisedVisits: matter.onsiteVisits, requiredMaterials: matter.materials.filter(\.required).map(\.name)
        )
    }

    /// Materials answering every name, as uploaded files.
    static func files(_ names: [String]) -> [SubmittedMaterial] {
        names.enumerated().map { index, name in SubmittedMaterial(name: name, blobSha256: String(repeating: String(index % 10), count: 64)) }
    }

    /// Performs a sequence of moves, failing the test on the first rejection.
    static func walk(
        _ caseFile: Case, _ steps: [(CaseAction, CaseActor, Int64, String?, CaseActionDetails)], calendar: WorkingCalendar = calendar2026
    ) throws(MutationRejection) -> Case {
        var current = caseFile
        for (action, actor, millis, note, details) in steps {
            current = try CaseWorkflow.perform(action, on: current, by: actor, at: millis, note: note, details: details, calendar: calendar)
        }
        return current
    }

    /// The case submitted on `day` at 09:00 and accepted at 10:00.
    static func accepted(_ matter: Matter, on day: String) throws(MutationRejection) -> Case {
        try walk(draft(matter), [(.submit, applicant, at(day, 9), nil, .init()), (.accept, clerk, at(day, 10), nil, .init())])
    }
}

@Suite struct CasesWorkflowTests {
    typealias F = CaseFixtures

    @Test func realEstateTransferInOneVisit() throws {
        let day = "2026-09-30"
        let done = try F.walk(
            F.draft(F.transfer),
            [
                (.submit, F.applicant, F.at(day, 9), nil, .init()),
                (.accept, F.clerk, F.at(day, 9, 10), nil, .init()),
                (.startReview, F.clerk, F.at(day, 9, 15), nil, .init()),
                (.approve, F.clerk, F.at(day, 9, 50), "准予转移登记", .init()),
            ]
        )
        #expect(done.state == .approved)
        #expect(done.deadline == day, "即办件: due the day it is accepted")
        #expect(done.acceptedAt == F.at(day, 9, 10) && done.decidedAt == F.at(day, 9, 50) && done.decisionNote == "准予转移登记")

        let visited = try CaseWorkflow.recordVisit(on: done, by: F.clerk, at: F.at(day, 10), note: "窗口领证")
        #expect(visited.state == .approved && visited.visits == 1 && visited.timeline.last?.action == "recordVisit")
        #expect(visited.timeline.last?.from == nil && visited.timeline.last?.to == nil)
        let completed = try F.walk(
            visited,
            [
                (.deliver, F.clerk, F.at(day, 10, 1), nil, .init(deliveryMethod: .window)),
                (.complete, F.clerk, F.at(day, 10, 2), nil, .init()),
            ]
        )
        #expect(completed.state == .completed)
        #expect(
            completed.delivery == CaseDelivery(method: .window) && completed.deliveredAt == F.at(day, 10, 1)
                && completed.completedAt == F.at(day, 10, 2))
        #expect(completed.timeline.map(\.action) == ["submit", "accept", "startReview", "approve", "recordVisit", "deliver", "complete"])
        #expect(completed.timeline.compactMap(\.to) == [.submitted, .accepted, .underReview, .approved, .delivered, .completed])
        #expect(completed.timeline.first?.actorId == F.applicantID && completed.timeline.last?.actorId == F.clerk.id)
        #expect(!completed.brokeOneTripPromise, "one visit for a matter that promises one")
        #expect(!completed.isOverdue(today: "2026-12-31"))
        #expect(CaseWorkflow.allowedActions(for: .completed, actorKind: .clerk).isEmpty)

        let secondTrip = try CaseWorkflow.recordVisit(on: completed, by: F.clerk, at: F.at(day, 15))
        #expect(secondTrip.brokeOneTripPromise, "a second trip breaks 最多跑一次")
    }

    @Test func deadlinesCountWorkingDaysFromAcceptance() throws {
        #expect(try F.accepted(F.inheritance, on: "2026-09-24").deadline == "2026-10-09", "5 days across 中秋 and 国庆")
        #expect(try F.accepted(F.mortgage, on: "2026-09-30").deadline == "2026-10-08")
        #expect(try F.accepted(F.mortgage, on: "2026-10-09").deadline == "2026-10-10", "the make-up Saturday is a working day")
        #expect(try F.accepted(F.transfer, on: "2026-10-03").deadline == "2026-10-08", "即办件 taken in on a holiday: the next working day")
    }

    @Test func aMatterPromisingNoVisitIsBrokenByTheFirst() throws {
        let online = try F.accepted(F.mortgage, on: "2026-09-30")
        #expect(!online.brokeOneTripPromise)
        #expect(try CaseWorkflow.recordVisit(on: online, by: F.clerk, at: F.at("2026-09-30", 11)).brokeOneTripPromise)
        #expect(throws: MutationRejection(.forbiddenAction, "Visits are recorded by clerks.")) {
            try CaseWorkflow.recordVisit(on: online, by: F.applicant, at: F.at("2026-09-30", 11))
        }
        #expect(caseRejection { try CaseWorkflow.recordVisit(on: F.draft(F.mortgage), by: F.clerk, at: 0) } == "invalid_transition")
    }

    @Test func acceptedPendingTerminatesOnlyAfterItsDueDate() throws {
        let submitted = try F.walk(F.draft(F.inheritance), [(.submit, F.applicant, F.at("2026-09-28", 9), nil, .init())])
        let monday = F.at("2026-09-28", 10)
        func acceptPending(_ details: CaseActionDetails) throws(MutationRejection) -> Case {
            try CaseWorkflow.perform(.acceptPending, on: submitted, by: F.clerk, at: monday, details: details, calendar: F.calendar2026)
        }
        #expect(caseRejection { try acceptPending(.init(pendingDue: "2026-10-09")) } == "invalid_args", "no pending items")
        #expect(caseRejection { try acceptPending(.init(pendingMaterials: ["亲属关系证明"])) } == "invalid_args", "no due date")
        #expect(caseRejection { try acceptPending(.init(pendingMaterials: ["亲属关系证明"], pendingDue: "2026-09-28")) } == "invalid_args", "due today")
        #expect(caseRejection { try acceptPending(.init(pendingMaterials: ["亲属关系证明"], pendingDue: "2026-10-32")) } == "invalid_args")

        let pending = try acceptPending(.init(pendingMaterials: ["亲属关系证明", " 亲属关系证明 "], pendingDue: "2026-10-09"))
        #expect(pending.state == .acceptedPending && pending.pendingMaterials == ["亲属关系证明"] && pending.pendingDue == "2026-10-09")
        #expect(pending.deadline == "2026-10-10", "the SLA runs from acceptance: 09-29 09-30 10-08 10-09 10-10 (a worked Saturday)")

        func terminate(at millis: Int64, by actor: CaseActor = .system) throws(MutationRejection) -> Case {
            try CaseWorkflow.perform(.terminate, on: pending, by: actor, at: millis, calendar: F.calendar2026)
        }
        #expect(caseRejection { try terminate(at: F.at("2026-10-10", 1), by: F.clerk) } == "forbidden_action")
        #expect(caseRejection { try terminate(at: F.at("2026-10-09", 23, 59)) } == "invalid_transition", "the due day itself is still in time")
        #expect(
            caseRejection { try CaseWorkflow.perform(.startReview, on: pending, by: F.clerk, at: monday, calendar: F.calendar2026) }
                == "missing_materials")

        let terminated = try terminate(at: F.at("2026-10-10", 0, 30))
        #expect(terminated.state == .terminated && terminated.state.isFinal)
        #expect(terminated.timeline.last?.actorKind == .system && terminated.timeline.last?.note?.contains("亲属关系证明") == true)
        #expect(!terminated.isOverdue(today: "2026-12-01"))
    }

    @Test func correctionNeedsAtLeastOneItemAndListsThemAll() throws {
        let submitted = try F.walk(F.draft(F.transfer), [(.submit, F.applicant, F.at("2026-09-29", 9), nil, .init())])
        #expect(
            caseRejection { try F.walk(submitted, [(.requestCorrection, F.clerk, F.at("2026-09-29", 10), nil, .init(correctionItems: [" "]))]) }
                == "invalid_args")
        let corrected = try F.walk(
            submitted, [(.requestCorrection, F.clerk, F.at("2026-09-29", 10), nil, .init(correctionItems: ["不动产权证书", "存量房买卖合同（网签备案）"]))]
        )
        #expect(corrected.correctionItems == ["不动产权证书", "存量房买卖合同（网签备案）"])
        #expect(corrected.timeline.last?.note == "需补正：不动产权证书、存量房买卖合同（网签备案）")
        #expect(
            caseRejection { try F.walk(submitted, [(.rejectIntake, F.clerk, F.at("2026-09-29", 10), nil, .init())]) } == "invalid_args",
            "不予受理 needs reasons")
        let refused = try F.walk(submitted, [(.rejectIntake, F.clerk, F.at("2026-09-29", 10), "不属于本机关职权范围", .init())])
        #expect(refused.state == .intakeRejected && refused.decisionNote == "不属于本机关职权范围")
    }

    @Test func suspensionPushesTheDeadlineByTheWorkingDaysSuspended() throws {
        var caseFile = try F.walk(try F.accepted(F.inheritance, on: "2026-09-22"), [(.startReview, F.clerk, F.at("2026-09-22", 11), nil, .init())])
        #expect(caseFile.deadline == "2026-09-30")
        #expect(
            caseRejection { try F.walk(caseFile, [(.suspend, F.clerk, F.at("2026-09-24", 9), nil, .init())]) } == "invalid_args", "中止 needs a reason")

        caseFile = try F.walk(caseFile, [(.suspend, F.clerk, F.at("2026-09-24", 9), "等待公证处核实继承权公证书", .init())])
        #expect(caseFile.state == .suspended && caseFile.suspendedSince == "2026-09-24")
        #expect(!caseFile.isOverdue(today: "2026-10-08"), "the clock is paused while suspended")

        caseFile = try F.walk(caseFile, [(.resume, F.clerk, F.at("2026-10-09", 9), nil, .init())])
        #expect(caseFile.state == .underReview && caseFile.suspendedSince == nil)
        #expect(caseFile.suspendedWorkingDays == 5, "09-28 09-29 09-30 10-08 10-09")
        #expect(caseFile.deadline == "2026-10-13", "09-30 + 5 working days: 10-08 10-09 10-10 10-12 10-13")

        caseFile = try F.walk(
            caseFile,
            [
                (.suspend, F.clerk, F.at("2026-10-12", 9), "补充调查", .init()), (.resume, F.clerk, F.at("2026-10-12", 16), nil, .init()),
                (.suspend, F.clerk, F.at("2026-10-12", 17), "补充调查", .init()), (.resume, F.clerk, F.at("2026-10-13", 9), nil, .init()),
            ]
        )
        #expect(
            caseFile.suspendedWorkingDays == 6 && caseFile.deadline == "2026-10-14", "a same-day suspension costs nothing, an overnight one a day")
        #expect(caseFile.timeline.filter { $0.action == "suspend" }.map(\.note) == ["等待公证处核实继承权公证书", "补充调查", "补充调查"])
    }

    @Test func overdueWhileTheDeadlineClockRuns() throws {
        let accepted = try F.accepted(F.inheritance, on: "2026-09-22")
        #expect(accepted.deadline == "2026-09-30")
        #expect(!accepted.isOverdue(today: "2026-09-30"), "the deadline day is on time")
        #expect(accepted.isOverdue(today: "2026-10-08"))
        let reviewing = try F.walk(accepted, [(.startReview, F.clerk, F.at("2026-09-23", 9), nil, .init())])
        #expect(reviewing.isOverdue(today: "2026-10-01"))
        let paying = try F.walk(reviewing, [(.requirePayment, F.clerk, F.at("2026-09-29", 9), nil, .init())])
        #expect(paying.isOverdue(today: "2026-10-08"), "waiting for payment does not stop the clock")
        let approved = try F.walk(paying, [(.approve, CaseActor.system, F.at("2026-10-08", 9), nil, .init())])
        #expect(approved.state == .approved && !approved.isOverdue(today: "2026-10-09"), "decided: the system approved on payment")
        let submitted = try F.walk(F.draft(F.inheritance), [(.submit, F.applicant, F.at("2026-09-01", 9), nil, .init())])
        #expect(!submitted.isOverdue(today: "2026-12-31"), "no deadline before acceptance")
    }

    @Test func wrongActorsAndIllegalMovesAreRefused() throws {
        let accepted = try F.accepted(F.transfer, on: "2026-09-30")
        let stranger = CaseActor(id: "acc_other", kind: .applicant)
        #expect(caseRejection { try F.walk(accepted, [(.startReview, F.applicant, 0, nil, .init())]) } == "forbidden_action")
        #expect(caseRejection { try F.walk(accepted, [(.withdraw, stranger, 0, nil, .init())]) } == "forbidden_action", "only the owner withdraws")
        #expect(caseRejection { try F.walk(accepted, [(.approve, F.clerk, 0, nil, .init())]) } == "invalid_transition", "review first")
        #expect(caseRejection { try F.walk(accepted, [(.approve, CaseActor.system, 0, nil, .init())]) } == "invalid_transition")
        let approved = try F.walk(accepted, [(.startReview, F.clerk, 1, nil, .init()), (.approve, F.clerk, 2, nil, .init())])
        #expect(throws: MutationRejection(.invalidTransition, "approved → withdraw is not an allowed move (the case is 准予许可).")) {
            try F.walk(approved, [(.withdraw, F.applicant, 3, nil, .init())])
        }
        #expect(caseRejection { try F.walk(approved, [(.deliver, F.clerk, 3, nil, .init())]) } == "invalid_args", "how is it delivered?")
        #expect(
            caseRejection { try F.walk(approved, [(.deliver, F.clerk, 3, nil, .init(deliveryMethod: .express))]) } == "invalid_args",
            "no tracking number")
        let expressed = try F.walk(approved, [(.deliver, F.clerk, 3, nil, .init(deliveryMethod: .express, trackingNumber: " EMS1234567890 "))])
        #expect(expressed.delivery == CaseDelivery(method: .express, trackingNumber: "EMS1234567890"))
    }

    @Test func theMoveTableIsComplete() {
        var reachable: Set<CaseState> = [.draft]
        var frontier: [CaseState] = [.draft]
        while let state = frontier.popLast() {
            for move in CaseMoves.all where move.from == state && reachable.insert(move.to).inserted { frontier.append(move.to) }
        }
        #expect(reachable == Set(CaseState.allCases), "every state is reachable from draft")
        for state in CaseState.allCases {
            let outgoing = CaseMoves.all.filter { $0.from == state }
            #expect(state.isFinal == outgoing.isEmpty, "\(state): final exactly when nothing leaves it")
            #expect(state.isPreDecision == (CaseMoves.move(from: state, .withdraw) != nil), "\(state): withdrawable exactly before the decision")
        }
        #expect(Set(CaseMoves.all.map(\.action)) == Set(CaseAction.allCases), "every action is used")
        #expect(CaseWorkflow.allowedActions(for: .draft, actorKind: .applicant) == [.submit, .withdraw])
        #expect(CaseWorkflow.allowedActions(for: .submitted, actorKind: .clerk) == [.accept, .acceptPending, .requestCorrection, .rejectIntake])
        #expect(CaseWorkflow.allowedActions(for: .awaitingPayment, actorKind: .system) == [.approve])
        #expect(CaseWorkflow.allowedActions(for: .acceptedPending, actorKind: .system) == [.terminate])
        #expect(CaseWorkflow.allowedActions(for: .correctionRequired, actorKind: .applicant) == [.resubmit, .withdraw])
    }

    @Test func aCaseSurvivesItsJSONByteForByte() throws {
        var caseFile = try F.accepted(F.transfer, on: "2026-09-30")
        caseFile.form = ["买受人": "张伟"]
        caseFile.materials =
            F.files(["不动产权证书"]) + [SubmittedMaterial(name: "买卖双方居民身份证", eLicenseType: "resident_id_card", eLicenseId: "x", paper: false)]
        let json = SyncJSON.encode(caseFile)
        let decoded = try SyncJSON.decoder.decode(Case.self, from: Data(json))
        #expect(decoded == caseFile && SyncJSON.encode(decoded) == json)
        #expect(String(decoding: json, as: UTF8.self).contains(#""state":"accepted""#))
        #expect(EntityType.caseFile.rawValue == "case" && EntityType(rawValue: "queue_ticket") == .queueTicket)
    }
}

/// The code of the rejection `body` throws, or `nil` when it does not throw.
func caseRejection<T>(_ body: () throws -> T) -> String? {
    do {
        _ = try body()
        return nil
    } catch let rejection as MutationRejection {
        return rejection.code.rawValue
    } catch {
        return "not a MutationRejection: \(error)"
    }
}
