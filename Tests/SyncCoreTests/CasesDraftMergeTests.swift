import Foundation
import SyncCore
import Testing

@Suite struct CasesDraftMergeTests {
    typealias F = CaseFixtures

    /// An edit of the draft's form by one device, stamped with that device's HLC.
    struct Edit {
        var fields: [String: String]
        var hlc: HLC
    }

    /// The store after the draft was created, then `edits` applied in the given order.
    func applying(_ edits: [Edit]) throws -> CaseStore {
        var store = CaseStore()
        let created = F.at("2026-09-29", 8)
        try store.push(CaseSaveDraft.self, .init(caseId: "case_1", matter: F.transfer, fields: F.transferFields), F.phone(created))
        for edit in edits {
            let context = MutationContext(
                accountID: F.applicantID, role: .citizen, clientID: edit.hlc.node, hlc: edit.hlc, now: edit.hlc.physical, authoritative: true)
            try store.push(CaseSaveDraft.self, .init(caseId: "case_1", matter: F.transfer, fields: edit.fields), context)
        }
        return store
    }

    @Test func twoDevicesEditingDifferentFieldsKeepBothEdits() throws {
        let t = F.at("2026-09-29", 9)
        let phone = Edit(fields: ["联系电话": "13900001111"], hlc: HLC(physical: t, node: "phone_a"))
        let tablet = Edit(fields: ["坐落": "杭州市拱墅区湖墅南路 9 号"], hlc: HLC(physical: t + 5_000, node: "tablet_b"))
        let one = try applying([phone, tablet])
        let other = try applying([tablet, phone])
        #expect(one.case() == other.case())
        #expect(one.case()?.form == F.transferFields.merging(["联系电话": "13900001111", "坐落": "杭州市拱墅区湖墅南路 9 号"]) { $1 })
    }

    @Test func theLaterEditOfAFieldWinsInEitherOrder() throws {
        let t = F.at("2026-09-29", 9)
        let earlier = Edit(fields: ["买受人": "张伟", "备注": "首套"], hlc: HLC(physical: t, node: "tablet_b"))
        let later = Edit(fields: ["买受人": "张伟、王芳"], hlc: HLC(physical: t + 1, node: "phone_a"))
        for order in [[earlier, later], [later, earlier]] {
            let form = try #require(try applying(order).case()?.form)
            #expect(form["买受人"] == "张伟、王芳" && form["备注"] == "首套")
        }
        // The same millisecond and counter: the client id breaks the tie, the same way everywhere.
        let a = Edit(fields: ["出卖人": "李娜"], hlc: HLC(physical: t, logical: 2, node: "phone_a"))
        let b = Edit(fields: ["出卖人": "李娜（代理人：赵强）"], hlc: HLC(physical: t, logical: 2, node: "tablet_b"))
        #expect(try applying([a, b]).case() == applying([b, a]).case())
        #expect(try applying([b, a]).case()?.form["出卖人"] == "李娜（代理人：赵强）")
    }

    @Test func anEmptyValueClearsAFieldAndCommutesToo() throws {
        let t = F.at("2026-09-29", 9)
        let clear = Edit(fields: ["出卖人": ""], hlc: HLC(physical: t + 10, node: "phone_a"))
        let set = Edit(fields: ["出卖人": "李娜"], hlc: HLC(physical: t, node: "tablet_b"))
        let one = try applying([clear, set])
        #expect(one.case() == (try applying([set, clear])).case())
        #expect(one.case()?.form["出卖人"] == nil && one.case()?.formClocks.clocks["出卖人"] == clear.hlc)
    }

    @Test func aStaleEditWritesNothing() throws {
        var store = try applying([Edit(fields: ["买受人": "王芳"], hlc: HLC(physical: F.at("2026-09-29", 10), node: "phone_a"))])
        let before = store.rows
        let stale = MutationContext(
            accountID: F.applicantID, role: .citizen, clientID: "tablet_b", hlc: HLC(physical: F.at("2026-09-29", 9), node: "tablet_b"), now: 0,
            authoritative: true)
        #expect(try store.push(CaseSaveDraft.self, .init(caseId: "case_1", matter: F.transfer, fields: ["买受人": "张伟"]), stale).isEmpty)
        #expect(store.rows == before)
    }

    @Test func randomEditsFromThreeDevicesConvergeInAnyOrder() throws {
        var random = SeededGenerator(seed: 0x5EED_CA5E)
        let devices = ["phone_a", "tablet_b", "kiosk_c"]
        let fields = ["买受人", "出卖人", "坐落", "联系电话", "备注"]
        let values = ["", "张伟", "李娜", "王芳", "杭州市上城区", "13900001111"]
        let start = F.at("2026-09-29", 9)
        for _ in 0..<60 {
            var edits: [Edit] = []
            var stamps = Set<HLC>()
            for _ in 0..<(2 + Int(random.next(upTo: 6))) {
                var change: [String: String] = [:]
                for _ in 0..<(1 + Int(random.next(upTo: 3))) { change[random.pick(fields)] = random.pick(values) }
                // Few distinct milliseconds, so counters and client ids decide often; a device never stamps twice alike.
                let hlc = HLC(physical: start + Int64(random.next(upTo: 3)), logical: Int32(random.next(upTo: 2)), node: random.pick(devices))
                if stamps.insert(hlc).inserted { edits.append(Edit(fields: change, hlc: hlc)) }
            }
            let reference = try applying(edits).case()
            for _ in 0..<4 {
                #expect(try applying(edits.shuffled(using: &random)).case() == reference)
            }
        }
    }
}
