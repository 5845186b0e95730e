import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OneTripAPI
import SyncCore
import Testing

@testable import AppAPI

typealias MatterPage = Components.Schemas.MatterPage

@Suite struct CatalogAPITests {
    @Test(arguments: TestEngine.enabled)
    func keywordSearchFindsChineseMatters(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            for keyword in ["不动产", "营业执照", "公积金"] {
                let response = try await client.execute(uri: "/v1/matters?\(query(["q": keyword, "limit": "100"]))", method: .get)
                #expect(response.status == .ok)
                let page = try response.json(MatterPage.self)
                #expect(!page.items.isEmpty, "no matter found for \(keyword)")
                for matter in page.items {
                    let haystack = ([matter.name, matter.code, matter.departmentName] + (matter.keywords ?? [])).joined()
                    #expect(
                        haystack.contains(keyword) || (keyword == "不动产" && matter.domain == .realEstate), "\(matter.name) does not match \(keyword)")
                }
            }
            // Several terms must all match.
            let both = try await client.execute(uri: "/v1/matters?\(query(["q": "不动产 转移登记"]))", method: .get).json(MatterPage.self)
            #expect(both.items.contains { $0.promisedMinutes == 60 })
            let none = try await client.execute(uri: "/v1/matters?\(query(["q": "不存在的事项xyz"]))", method: .get).json(MatterPage.self)
            #expect(none.items.isEmpty && none.nextCursor == nil)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func filtersNarrowTheCatalog(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let idCardOnly = try await client.execute(uri: "/v1/matters?idCardOnly=true&limit=100", method: .get).json(MatterPage.self)
            #expect(idCardOnly.items.count >= 20)
            #expect(idCardOnly.items.allSatisfy { $0.idCardOnly && $0.materials.isEmpty })
            let business = try await client.execute(uri: "/v1/matters?domain=business&limit=100", method: .get).json(MatterPage.self)
            #expect(!business.items.isEmpty && business.items.allSatisfy { $0.domain == .business })
            let zeroVisits = try await client.execute(uri: "/v1/matters?visits=0&fullyOnline=true&limit=100", method: .get).json(MatterPage.self)
            #expect(!zeroVisits.items.isEmpty && zeroVisits.items.allSatisfy { $0.onsiteVisits == 0 && $0.fullyOnline })
            let department = try #require(business.items.first?.departmentId)
            let byDepartment = try await client.execute(uri: "/v1/matters?department=\(department)&limit=100", method: .get).json(MatterPage.self)
            #expect(!byDepartment.items.isEmpty && byDepartment.items.allSatisfy { $0.departmentId == department })
        }
    }

    @Test(arguments: TestEngine.enabled)
    func cursorPaginationVisitsEveryMatterOnceInOrder(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            var codes: [String] = []
            var cursor: String?
            repeat {
                var items = ["limit": "7"]
                if let cursor { items["cursor"] = cursor }
                let page = try await client.execute(uri: "/v1/matters?\(query(items))", method: .get).json(MatterPage.self)
                #expect(page.items.count <= 7)
                codes += page.items.map(\.code)
                cursor = page.nextCursor
            } while cursor != nil
            let seeds = try SeedFiles.load(from: repositoryRoot.appendingPathComponent("seeds"))
            #expect(codes == seeds.catalog.matters.map(\.code).sorted())
        }
    }

    @Test(arguments: TestEngine.enabled)
    func oneMatterByCodeOr404(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let page = try await client.execute(uri: "/v1/matters?limit=1", method: .get).json(MatterPage.self)
            let code = try #require(page.items.first?.code)
            let matter = try await client.execute(uri: "/v1/matters/\(code)", method: .get).json(Components.Schemas.Matter.self)
            #expect(matter.code == code && !matter.departmentName.isEmpty)
            let missing = try await client.execute(uri: "/v1/matters/NO-SUCH-CODE", method: .get)
            #expect(missing.status == .notFound)
            let problem = try missing.problem()
            #expect(problem.code == "not_found" && problem.status == 404 && problem.detail?.contains("NO-SUCH-CODE") == true)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func theRestOfTheCatalogIsServed(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let departments = try await client.execute(uri: "/v1/departments", method: .get).json(Items<Components.Schemas.Department>.self)
            #expect(departments.items.count >= 10)
            let bundles = try await client.execute(uri: "/v1/bundles", method: .get).json(Items<Components.Schemas.Bundle>.self)
            #expect(bundles.items.count >= 4 && bundles.items.contains { $0.name.contains("开办企业") })
            let fees = try await client.execute(uri: "/v1/fee-items", method: .get).json(Items<Components.Schemas.FeeItem>.self)
            #expect(fees.items.count == 23)
            let centers = try await client.execute(uri: "/v1/service-centers?level=city", method: .get).json(
                Items<Components.Schemas.ServiceCenter>.self)
            #expect(!centers.items.isEmpty && centers.items.allSatisfy { $0.level == .city && !$0.hours.isEmpty })
            let faq = try await client.execute(uri: "/v1/faq?\(query(["q": "公积金"]))", method: .get).json(Items<Components.Schemas.FAQEntry>.self)
            #expect(!faq.items.isEmpty)
            #expect(faq.items.first?.question.contains("公积金") == true, "the best answer should mention the keyword in its question")
        }
    }

    @Test(arguments: TestEngine.enabled)
    func malformedQueryParametersAre400Problems(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            for bad in [
                "domain=farming", "limit=0", "limit=101", "limit=ten", "idCardOnly=maybe", "visits=2", "visits=-1", "cursor=garbage",
                "q=" + String(repeating: "a", count: 65), "fullyOnline=1x",
                // 20 letters with 5 combining marks each: 20 characters to the eye, 120 code points — the contract's
                // maxLength counts code points, as JSON Schema does.
                "q=" + String(repeating: "a\u{0301}\u{0302}\u{0303}\u{0304}\u{0305}", count: 20)
                    .addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
            ] {
                let response = try await client.execute(uri: "/v1/matters?\(bad)", method: .get)
                #expect(response.status == .badRequest, "\(bad) gave \(response.status)")
                let problem = try response.problem()
                #expect(problem.status == 400 && ["bad_request", "invalid_parameter"].contains(problem.code), "\(bad): \(problem.code)")
            }
            let domain = try await client.execute(uri: "/v1/matters?domain=farming", method: .get).problem()
            #expect(domain.detail?.contains("farming") == true, "the detail should say what was wrong")
            let limit = try await client.execute(uri: "/v1/matters?limit=ten", method: .get).problem()
            #expect(limit.detail?.contains("integer") == true)
            let faq = try await client.execute(uri: "/v1/faq?limit=500", method: .get)
            #expect(faq.status == .badRequest)
            let level = try await client.execute(uri: "/v1/service-centers?level=galaxy", method: .get)
            #expect(level.status == .badRequest)
        }
    }
}
