import Foundation
import SyncCore
import Testing

/// Entities as the server keeps them, and a push that runs a mutator the way the server does: load exactly the keys
/// the mutator reads, apply it from its JSON arguments through `Mutators.all`, and keep what it wrote.
struct CaseStore {
    var rows: [EntityKey: [UInt8]] = [:]

    init(matters: [Matter] = [CaseFixtures.transfer, CaseFixtures.inheritance, CaseFixtures.mortgage], cases: [Case] = []) {
        for matter in matters { rows[EntityKey(.matter, matter.code)] = SyncJSON.encode(matter) }
        for caseFile in cases { put(caseFile) }
    }

    mutating func put(_ caseFile: Case) { rows[EntityKey(.caseFile, caseFile.id)] = SyncJSON.encode(caseFile) }

    func `case`(_ id: String = "case_1") -> Case? {
        rows[EntityKey(.caseFile, id)].flatMap { try? SyncJSON.decoder.decode(Case.self, from: Data($0)) }
    }

    /// Applies `args` with `M`, by name and JSON; returns the keys written (none when rejected).
    @discardableResult
    mutating func push<M: Mutator>(_ mutator: M.Type, _ args: M.Args, _ context: MutationContext) throws(MutationRejection) -> [EntityKey] {
        let named = try SyncSchema.oneTrip.mutator(named: M.name)
        let json = SyncJSON.encode(args)
        let keys = try named.reads(json, context: context)
        var state = MutationState(entities: Dictionary(uniqueKeysWithValues: keys.map { ($0, rows[$0]) }))
        try named.apply(json, to: &state, context: context)
        for key in state.written { rows[key] = state.json(key) }
        return state.written
    }

    /// The clerk's side: a workflow move written straight into the store.
    mutating func clerk(_ action: CaseAction, _ id: String = "case_1", at millis: Int64, note: String? = nil, details: CaseActionDetails = .init())
        throws
    {
        let moved = try CaseWorkflow.perform(
            action, on: try #require(self.case(id)), by: CaseFixtures.clerk, at: millis, note: note, details: details,
            calendar: CaseFixtures.calendar2026
        )
        put(moved)
    }
}

extension CaseFixtures {
    /// A phone of the applicant at `millis` (its HLC and wall clock agree).
    static func phone(_ millis: Int64, account: String = applicantID, client: String = "phone_a") -> MutationContext {
        MutationContext(
            accountID: account, role: .citizen, clientID: client, hlc: HLC(physical: millis, node: client), now: millis, authoritative: false)
    }

    static let transferFields = ["买受人": "张伟", "出卖人": "李娜", "坐落": "杭州市西湖区文三路 1 号 2 幢 301 室"]
}

@Suite struct CasesMutatorTests {
    typealias F = CaseFixtures

    @Test func allCaseMutatorsAreRegistered() throws {
        for name in ["case.saveDraft", "case.submit", "case.withdraw", "case.supplement", "case.rate"] {
            #expect(try SyncSchema.oneTrip.mutator(named: name).name == name)
        }
    }

    @Test func correctionRoundTrip() throws {
        var store = CaseStore()
        let day = "2026-09-29"
        try store.push(CaseSaveDraft.self, .init(caseId: "case_1", matter: F.transfer, fields: F.transferFields), F.phone(F.at(day, 8)))
        #expect(store.case()?.requiredMaterials == ["买卖双方居民身份证", "不动产权证书", "存量房买卖合同（网签备案）"])

        let twoOfThree = F.files(["买卖双方居民身份证", "不动产权证书"])
        #expect(throws: MutationRejection(.missingMaterials, "Still missing: 存量房买卖合同（网签备案）.")) {
            try store.push(CaseSubmit.self, .init(caseId: "case_1", materials: twoOfThree), F.phone(F.at(day, 9)))
        }
        let all = F.files(["买卖双方居民身份证", "不动产权证书", "存量房买卖合同（网签备案）"])
        try store.push(CaseSubmit.self, .init(caseId: "case_1", materials: all), F.phone(F.at(day, 9)))
        #expect(store.case()?.state == .submitted && store.case()?.submittedAt == F.at(day, 9))

        let items = ["不动产权证书", "存量房买卖合同（网签备案）"]
        try store.clerk(.requestCorrection, at: F.at(day, 10), details: .init(correctionItems: items))
        #expect(store.case()?.state == .correctionRequired && store.case()?.correctionItems == items)

        let before = store.rows
        let newCertificate = SubmittedMaterial(name: "不动产权证书", blobSha256: String(repeating: "a", count: 64))
        #expect(throws: MutationRejection(.missingMaterials, "Still missing: 存量房买卖合同（网签备案）.")) {
            try store.push(CaseSupplement.self, .init(caseId: "case_1", materials: [newCertificate]), F.phone(F.at(day, 11)))
        }
        #expect(store.rows == before, "a rejected supplement changes nothing")

        let newContract = SubmittedMaterial(name: "存量房买卖合同（网签备案）", paper: true)
        try store.push(CaseSupplement.self, .init(caseId: "case_1", materials: [newCertificate, newContract]), F.phone(F.at(day, 12)))
        let resubmitted = try #require(store.case())
        #expect(resubmitted.state == .submitted && resubmitted.correctionItems.isEmpty && resubmitted.submittedAt == F.at(day, 12))
        #expect(resubmitted.material(named: "不动产权证书") == newCertificate && resubmitted.material(named: "存量房买卖合同（网签备案）") == newContract)
        #expect(resubmitted.materials.count == 3)
        let last = try #require(resubmitted.timeline.last)
        #expect(last.action == "resubmit" && last.actorKind == .applicant && last.from == .correctionRequired && last.to == .submitted)
        #expect(last.note == "补正材料：不动产权证书、存量房买卖合同（网签备案）")
        #expect(resubmitted.timeline.map(\.action) == ["create", "submit", "requestCorrection", "resubmit"])

        #expect(
            caseRejection { try store.push(CaseSupplement.self, .init(caseId: "case_1", materials: [newContract]), F.phone(F.at(day, 13))) }
                == "invalid_transition")
    }

    @Test func withdrawLosesTheRaceAgainstApproval() throws {
        let day = "2026-09-30"
        let reviewing = try F.walk(try F.accepted(F.inheritance, on: day), [(.startReview, F.clerk, F.at(day, 11), nil, .init())])
        let approved = try F.walk(reviewing, [(.approve, F.clerk, F.at(day, 15), nil, .init())])
        var store = CaseStore(cases: [approved])
        // The phone withdrew offline at 14:00, before the approval; its push reaches the server at 16:00.
        #expect(throws: MutationRejection(.invalidTransition, "approved → withdraw is not an allowed move (the case is 准予许可).")) {
            try store.push(CaseWithdraw.self, .init(caseId: "case_1", reason: "不办了"), F.phone(F.at(day, 16)))
        }
        #expect(store.case() == approved)

        store.put(reviewing)
        try store.push(CaseWithdraw.self, .init(caseId: "case_1", reason: "  房屋买卖取消  "), F.phone(F.at(day, 16)))
        let withdrawn = try #require(store.case())
        #expect(withdrawn.state == .withdrawn && withdrawn.timeline.last?.note == "房屋买卖取消")
        #expect(caseRejection { try store.push(CaseWithdraw.self, .init(caseId: "case_1"), F.phone(F.at(day, 17))) } == "invalid_transition")
        #expect(caseRejection { try store.push(CaseWithdraw.self, .init(caseId: "case_9"), F.phone(F.at(day, 17))) } == "not_found")
        store.put(reviewing)
        #expect(
            caseRejection { try store.push(CaseWithdraw.self, .init(caseId: "case_1"), F.phone(F.at(day, 17), account: "acc_other")) } == "not_found")
    }

    @Test func supplementUnderRongQueStrikesOffWhatArrives() throws {
        let day = "2026-09-28"
        var store = CaseStore(cases: [try F.walk(F.draft(F.inheritance), [(.submit, F.applicant, F.at(day, 9), nil, .init())])])
        try store.clerk(.acceptPending, at: F.at(day, 10), details: .init(pendingMaterials: ["亲属关系证明", "被继承人死亡证明"], pendingDue: "2026-10-09"))

        try store.push(CaseSupplement.self, .init(caseId: "case_1", materials: F.files(["亲属关系证明"])), F.phone(F.at("2026-09-29", 9)))
        var caseFile = try #require(store.case())
        #expect(caseFile.state == .acceptedPending && caseFile.pendingMaterials == ["被继承人死亡证明"])
        #expect(caseFile.timeline.last?.action == "supplement" && caseFile.timeline.last?.to == nil)
        #expect(throws: MutationRejection(.missingMaterials, "Still owed under 容缺: 被继承人死亡证明.")) {
            try store.clerk(.startReview, at: F.at("2026-09-29", 10))
        }

        // Made offline before the due date, synced after it: still taken while the case stands.
        try store.push(CaseSupplement.self, .init(caseId: "case_1", materials: F.files(["被继承人死亡证明"])), F.phone(F.at("2026-10-10", 9)))
        caseFile = try #require(store.case())
        #expect(caseFile.pendingMaterials.isEmpty)
        #expect(
            caseRejection { try CaseWorkflow.perform(.terminate, on: caseFile, by: .system, at: F.at("2026-10-12", 0), calendar: F.calendar2026) }
                == "invalid_transition", "nothing is owed any more"
        )
        try store.clerk(.startReview, at: F.at("2026-10-12", 9))
        #expect(store.case()?.state == .underReview)
        #expect(
            caseRejection { try store.push(CaseSupplement.self, .init(caseId: "case_1", materials: []), F.phone(F.at("2026-10-12", 10))) }
                == "invalid_transition")
    }

    @Test func ratingIsGivenOnceAfterCompletion() throws {
        let day = "2026-09-30"
        let delivered = try F.walk(
            try F.accepted(F.transfer, on: day),
            [
                (.startReview, F.clerk, F.at(day, 10, 5), nil, .init()), (.approve, F.clerk, F.at(day, 10, 30), nil, .init()),
                (.deliver, F.clerk, F.at(day, 10, 40), nil, .init(deliveryMethod: .eLicense)),
            ]
        )
        var store = CaseStore(cases: [delivered])
        #expect(caseRejection { try store.push(CaseRate.self, .init(caseId: "case_1", level: 5), F.phone(F.at(day, 11))) } == "not_completed")
        try store.clerk(.complete, at: F.at(day, 10, 50))
        #expect(caseRejection { try store.push(CaseRate.self, .init(caseId: "case_1", level: 6), F.phone(F.at(day, 11))) } == "invalid_args")
        #expect(
            caseRejection { try store.push(CaseRate.self, .init(caseId: "case_1", level: 5), F.phone(F.at(day, 11), account: "acc_other")) }
                == "not_found")

        try store.push(CaseRate.self, .init(caseId: "case_1", level: 2, comment: " 窗口排队太久 "), F.phone(F.at(day, 11)))
        let rated = try #require(store.case())
        #expect(rated.rating == CaseRating(level: 2, comment: "窗口排队太久", at: F.at(day, 11)))
        #expect(rated.rating?.label == "不满意" && rated.rating?.opensRectification == true)
        #expect(rated.timeline.last?.action == "rate" && rated.state == .completed)
        #expect(throws: MutationRejection(.alreadyRated, "The case was rated already; a rating is given once.")) {
            try store.push(CaseRate.self, .init(caseId: "case_1", level: 5), F.phone(F.at(day, 12), client: "phone_b"))
        }
        #expect(store.case() == rated)
    }

    @Test func submitChecksTheCatalogsListNotJustTheDevices() throws {
        var store = CaseStore()
        let now = F.at("2026-09-29", 9)
        try store.push(CaseSaveDraft.self, .init(caseId: "case_1", matter: F.transfer, fields: [:]), F.phone(now))
        // A device claiming "ID card only" or listing fewer required materials cannot waive what the catalog requires:
        // those arguments are not even read.
        let claim = try SyncJSON.decoder.decode(
            CaseSubmit.Args.self, from: Data(#"{"caseId":"case_1","materials":[],"idCardOnly":true,"requiredMaterials":[]}"#.utf8))
        #expect(caseRejection { try store.push(CaseSubmit.self, claim, F.phone(now)) } == "missing_materials")

        // Without a catalog entry there is no draft: the device cannot invent the matter's facts (S3).
        var bare = CaseStore(matters: [])
        let invented = try SyncJSON.decoder.decode(
            CaseSaveDraft.Args.self,
            from: Data(
                #"{"caseId":"case_2","matterCode":"330100-PSN-9999","matterName":"加急","departmentId":"hz-police","kind":"promised","promisedDays":1000000000000,"promisedVisits":0,"fields":{}}"#
                    .utf8))
        #expect(caseRejection { try bare.push(CaseSaveDraft.self, invented, F.phone(now)) } == "unknown_matter")
        #expect(bare.case("case_2") == nil)

        // Materials must say how they are provided, once each; a submitted case cannot be submitted again.
        let nothing = [SubmittedMaterial(name: "不动产权证书")]
        #expect(caseRejection { try store.push(CaseSubmit.self, .init(caseId: "case_1", materials: nothing), F.phone(now)) } == "invalid_args")
        let twice = F.files(["不动产权证书", "不动产权证书"])
        #expect(caseRejection { try store.push(CaseSubmit.self, .init(caseId: "case_1", materials: twice), F.phone(now)) } == "invalid_args")
        let badHash = [SubmittedMaterial(name: "不动产权证书", blobSha256: "ABC")]
        #expect(caseRejection { try store.push(CaseSubmit.self, .init(caseId: "case_1", materials: badHash), F.phone(now)) } == "invalid_args")
        try store.push(
            CaseSubmit.self, .init(caseId: "case_1", materials: F.files(F.transfer.materials.filter(\.required).map(\.name))), F.phone(now))
        #expect(caseRejection { try store.push(CaseSubmit.self, .init(caseId: "case_1", materials: []), F.phone(now)) } == "invalid_transition")
        // Another account's case is answered as if it did not exist.
        #expect(
            caseRejection { try store.push(CaseSubmit.self, .init(caseId: "case_1", materials: []), F.phone(now, account: "acc_other")) }
                == "not_found")
    }

    /// S9: on the server, a material's file must exist and be the applicant's own upload; a phone (which cannot know)
    /// leaves that to the server.
    @Test func materialsMayOnlyCiteTheApplicantsOwnFiles() throws {
        var store = CaseStore()
        let now = F.at("2026-09-29", 9)
        try store.push(CaseSaveDraft.self, .init(caseId: "case_1", matter: F.transfer, fields: [:]), F.phone(now))
        let materials = F.files(F.transfer.materials.filter(\.required).map(\.name))
        var server = F.phone(now)
        server.authoritative = true
        let submit = CaseSubmit.Args(caseId: "case_1", materials: materials)
        #expect(CaseSubmit.reads(submit, context: server).filter { $0.type == .blob }.count == materials.count)
        // None uploaded by this applicant (the server loads no BlobRef): refused, naming the material.
        #expect(caseRejection { try store.push(CaseSubmit.self, submit, server) } == "invalid_args")
        #expect(store.case()?.state == .draft)
        // Uploaded by the applicant: the server loads a BlobRef for each file, and the submission goes through.
        for sha in materials.compactMap(\.blobSha256) {
            store.rows[EntityKey(.blob, sha)] = SyncJSON.encode(BlobRef(sha256: sha, size: 1, contentType: "application/pdf"))
        }
        try store.push(CaseSubmit.self, submit, server)
        #expect(store.case()?.state == .submitted)
    }

    @Test func submitArgumentsDecodeWithDefaults() throws {
        let args = try SyncJSON.decoder.decode(CaseSubmit.Args.self, from: Data(#"{"caseId":"c1"}"#.utf8))
        #expect(args == CaseSubmit.Args(caseId: "c1", materials: []))
        let details = try SyncJSON.decoder.decode(CaseActionDetails.self, from: Data(#"{"deliveryMethod":"e_license"}"#.utf8))
        #expect(details == CaseActionDetails(deliveryMethod: .eLicense))
        let rate = try SyncSchema.oneTrip.mutator(named: "case.rate")
        var state = MutationState()
        #expect(caseRejection { try rate.apply(Array(#"{"caseId":1}"#.utf8), to: &state, context: F.phone(0)) } == "invalid_args")
    }

    @Test func saveDraftTakesTheMattersFactsFromTheCatalog() throws {
        var store = CaseStore()
        let now = F.at("2026-09-29", 8)
        // Matter facts a device sends are ignored: they come from the catalog.
        let args = try SyncJSON.decoder.decode(
            CaseSaveDraft.Args.self,
            from: Data(
                #"{"caseId":"case_1","matterCode":"\#(F.inheritance.code)","matterName":"随便写","promisedDays":0,"promisedVisits":0,"fields":{"继承人":"张伟"}}"#
                    .utf8))
        try store.push(CaseSaveDraft.self, args, F.phone(now))
        let draft = try #require(store.case())
        #expect(draft.promisedDays == 5 && draft.promisedVisits == 1 && draft.matterName == F.inheritance.name && draft.kind == .promised)
        #expect(draft.accountId == F.applicantID && draft.state == .draft && draft.form == ["继承人": "张伟"])
        #expect(draft.timeline == [CaseEvent(at: now, actorId: F.applicantID, actorKind: .applicant, action: "create", to: .draft)])

        // Another account cannot take the id over (S2).
        #expect(caseRejection { try store.push(CaseSaveDraft.self, args, F.phone(now + 1, account: "acc_other")) } == "id_taken")
        var otherMatter = CaseSaveDraft.Args(caseId: "case_1", matter: F.transfer, fields: [:])
        #expect(caseRejection { try store.push(CaseSaveDraft.self, otherMatter, F.phone(now + 1)) } == "invalid_args")
        otherMatter.caseId = "case 1/../x"
        #expect(caseRejection { try store.push(CaseSaveDraft.self, otherMatter, F.phone(now + 1)) } == "invalid_args")
        let longValue = CaseSaveDraft.Args(caseId: "case_1", matter: F.inheritance, fields: ["备注": String(repeating: "长", count: 4001)])
        #expect(caseRejection { try store.push(CaseSaveDraft.self, longValue, F.phone(now + 1)) } == "invalid_args")

        try store.push(CaseSubmit.self, .init(caseId: "case_1", materials: F.files(F.inheritance.materials.map(\.name))), F.phone(now + 2))
        #expect(throws: MutationRejection(.notDraft, "The case is no longer a draft (it is 待受理); its form can no longer change.")) {
            try store.push(CaseSaveDraft.self, .init(caseId: "case_1", matter: F.inheritance, fields: ["继承人": "张三"]), F.phone(now + 3))
        }
    }
}
