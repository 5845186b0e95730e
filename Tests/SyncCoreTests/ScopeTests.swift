import Foundation
import SyncCore
import Testing

@Suite struct ScopeTests {
    @Test func wireFormsRoundTrip() throws {
        for scope in [Scope.public, .user("acc_1"), .department("hz-market"), .kiosk("center-1")] {
            #expect(Scope(scope.rawValue) == scope)
            let data = try JSONEncoder().encode(scope)
            #expect(try JSONDecoder().decode(Scope.self, from: data) == scope)
        }
        #expect(Scope.user("a").kind == .user && Scope.user("a").ownerID == "a")
        #expect(Scope.public.kind == .public && Scope.public.ownerID == nil)
    }

    @Test func malformedScopesAreRejected() {
        for raw in ["", "user:", "public:x", "admin:1", "user:a b", "user:../x", "dept:" + String(repeating: "a", count: 129), "用户:1"] {
            #expect(Scope(raw) == nil, "\(raw) should be rejected")
        }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Scope.self, from: Data(#""nope:1""#.utf8)) }
    }

    @Test func scopesSortByWireForm() {
        #expect([Scope.user("b"), .public, .department("a")].sorted() == [.department("a"), .public, .user("b")])
    }
}

@Suite struct CatalogEntityTests {
    @Test func searchTermsSplitOnWhitespaceAndChineseCommas() {
        #expect(searchTerms("  营业执照  变更 ") == ["营业执照", "变更"])
        #expect(searchTerms("公积金，提取") == ["公积金", "提取"])
        #expect(searchTerms("ABC") == ["abc"])
        #expect(searchTerms(nil) == [])
    }

    @Test func matterValidationCatchesContradictions() {
        var matter = Matter(
            code: "X", name: "测试", departmentId: "d", domain: .personal, kind: .immediate, legalDays: 1, promisedDays: 0, onsiteVisits: 0,
            fullyOnline: true, idCardOnly: true, expressDelivery: false
        )
        #expect(matter.validationProblems.isEmpty)
        matter.onsiteVisits = 1
        #expect(!matter.validationProblems.isEmpty)
        matter.onsiteVisits = 0
        matter.materials = [Material(name: "户口簿", required: true, paperAllowed: true)]
        #expect(!matter.validationProblems.isEmpty)
        matter.materials = []
        matter.promisedDays = 3
        #expect(!matter.validationProblems.isEmpty, "an immediate matter cannot promise days")
    }

    @Test func faqRelevancePrefersQuestionHits() {
        let inQuestion = FAQEntry(id: "1", question: "公积金怎么提取？", answer: "在线办理。", tags: [])
        let inAnswer = FAQEntry(id: "2", question: "租房怎么办？", answer: "可以提取公积金。", tags: [])
        #expect(inQuestion.relevance(to: ["公积金"]) > inAnswer.relevance(to: ["公积金"]))
        #expect(inAnswer.relevance(to: ["社保"]) == 0)
    }
}
