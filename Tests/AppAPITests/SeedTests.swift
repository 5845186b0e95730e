import Foundation
import SQLKit
import SyncCore
import Testing

@testable import AppAPI

@Suite struct SeedTests {
    let files: SeedFiles

    init() throws {
        files = try SeedFiles.load(from: repositoryRoot.appendingPathComponent("seeds"))
    }

    @Test func seedCatalogCoversTheFourDomainsAndTheReformsPromises() {
        let matters = files.catalog.matters
        #expect(matters.count >= 80)
        for domain in MatterDomain.allCases {
            #expect(matters.filter { $0.domain == domain }.count >= 10, "too few \(domain.label) matters")
        }
        #expect(matters.filter { $0.domain == .personal && $0.idCardOnly }.count >= 20)
        #expect(matters.filter(\.idCardOnly).allSatisfy { $0.materials.isEmpty })
        // 60-minute real-estate transfer registration.
        #expect(matters.contains { $0.domain == .realEstate && $0.name.contains("转移登记") && $0.promisedMinutes == 60 })
        #expect(matters.contains { $0.domain == .business && ($0.name.contains("多证合一") || ($0.description ?? "").contains("多证合一")) })
        #expect(files.catalog.bundles.count >= 4)
        #expect(files.catalog.faq.count >= 40)
        let fees = files.catalog.feeItems
        #expect((21...23).contains(fees.count), "the article's 21 kinds, two of them split (身份证补领, 签注)")
        #expect(Set(fees.map(\.category)) == Set(FeeCategory.allCases))
        #expect(files.catalog.serviceCenters.contains { $0.level == .city })
        #expect(files.catalog.serviceCenters.contains { $0.level == .town })
    }

    @Test func everyCertificateAMatterIssuesHasATypeWithItsFieldsHolderAndValidity() throws {
        let types = Dictionary(uniqueKeysWithValues: files.catalog.licenseTypes.map { ($0.code, $0) })
        // The certificates the seeds' matters hand out, formerly without a type (seeds review §5.6).
        let formerlyUntyped = [
            "BIZ-0016", "BIZ-0024", "BIZ-0025", "BIZ-0026", "BIZ-0028", "BIZ-0030", "INV-0016", "INV-0002", "INV-0009", "INV-0010", "PSN-0014",
            "PSN-0045", "PSN-0056", "PSN-0060",
        ]
        for code in formerlyUntyped {
            let matter = try #require(files.catalog.matters.first { $0.code == "330100-" + code })
            let type = try #require(matter.resultLicenseType.flatMap { types[$0] }, "\(code) issues a certificate without a type")
            #expect(type.issuance == .onApproval && !type.fields.isEmpty)
        }
        // No certificate that does not exist: 多证合一 ended the separate tax registration, a seal filing yields a seal.
        for fictitious in ["tax_registration", "seal_filing", "establishment_notice"] { #expect(types[fictitious] == nil) }
        #expect(types["marriage_certificate"]?.copies == 2 && types["divorce_certificate"]?.copies == 2)
        #expect(types["business_license"]?.holder == .organization && types["resident_id_card"]?.holder == .person)
        #expect(types["resident_id_card"]?.fields.first { $0.name == "id_number" }?.personal == true)
        #expect(types["business_license"]?.fields.first { $0.name == "credit_code" }?.personal == false)
        #expect(types["e_receipt"]?.issuance == .onPayment && types["medical_e_receipt"]?.issuance == .external)
        #expect(types.values.allSatisfy { $0.typeCode == nil }, "no invented national type codes")
        #expect(Set(types.values.map(\.vct)).count == types.count)
    }

    @Test func demoHoldingsAreWellFormedAndTheirHoldersExist() throws {
        let seeds = repositoryRoot.appendingPathComponent("seeds")
        let entries = try DemoLicenses.entries(from: seeds)
        struct Holder: Decodable {
            var idNumber: String?
            var creditCode: String?
        }
        let accounts = try JSONDecoder().decode([Holder].self, from: Data(contentsOf: seeds.appendingPathComponent("demo-accounts.json")))
        let holders = Set(accounts.flatMap { [$0.idNumber, $0.creditCode].compactMap { $0 } })
        #expect(DemoLicenses.problems(entries, types: files.catalog.licenseTypes, holders: holders) == [])
        #expect(Set(entries.map(\.holder)).count >= 8, "every citizen and enterprise holds something")
        #expect(entries.contains { $0.type == "real_estate_certificate" } && entries.filter { $0.type == "marriage_certificate" }.count == 2)
        // The check finds what is wrong.
        var broken = entries
        broken[0].fields["favourite_colour"] = "蓝"
        broken[1].fields.removeValue(forKey: try #require(broken[1].fields.keys.first))
        broken[2].holder = "330106199001010000"
        let problems = DemoLicenses.problems(broken, types: files.catalog.licenseTypes, holders: holders)
        #expect(
            problems.count == 3 && problems[0].contains("undeclared") && problems[1].contains("missing") && problems[2].contains("no demo account"))
    }

    @Test func matterLicenseEffectsNameKnownTypes() throws {
        var catalog = files.catalog
        #expect(catalog.matters.contains { $0.supersedesLicenseTypes?.contains("resident_id_card") == true })
        #expect(catalog.matters.first { $0.code == "330100-PSN-0045" }?.revokesLicenseTypes == ["marriage_certificate"])
        let index = try #require(catalog.matters.firstIndex { $0.code == "330100-PSN-0001" })
        catalog.matters[index].revokesLicenseTypes = ["no_such_license"]
        #expect(catalog.consistencyProblems().contains { $0.contains("revokes unknown license type no_such_license") })
    }

    @Test func malformedLicenseTypesAreRefused() {
        var catalog = files.catalog
        catalog.licenseTypes[0].fields.append(catalog.licenseTypes[0].fields[0])
        catalog.licenseTypes[1].fields.append(.init(name: "iss", label: "签发", personal: false))
        catalog.licenseTypes[2].typeCode = "11100000000013338X009"
        catalog.licenseTypes[3].validityYears = nil
        catalog.licenseTypes[3].validityNote = nil
        catalog.licenseTypes[4].copies = 9
        let problems = catalog.consistencyProblems()
        #expect(problems.contains { $0.contains("field \(catalog.licenseTypes[0].fields[0].name) twice") })
        #expect(problems.contains { $0.contains("field name 'iss'") })
        #expect(problems.contains { $0.contains("is not a GB/T 36904 type code") })
        #expect(problems.contains { $0.contains("neither a validity in years nor a note") })
        #expect(problems.contains { $0.contains("copies 9") })
    }

    @Test func inconsistentSeedsAreRefusedWithEveryProblemListed() {
        var catalog = files.catalog
        catalog.matters[0].departmentId = "no-such-department"
        catalog.bundles[0].matterCodes.append("NO-SUCH-MATTER")
        let problems = catalog.consistencyProblems()
        #expect(problems.contains { $0.contains("unknown department no-such-department") })
        #expect(problems.contains { $0.contains("unknown matter NO-SUCH-MATTER") })
    }

    @Test(arguments: TestEngine.enabled)
    func seedingIsIdempotentAcrossRestarts(engine: TestEngine) async throws {
        try await withFreshDatabase(engine) { location in
            // First start loads the seeds; two more starts over the same database change nothing.
            for round in 0..<3 {
                let database = try await openDatabase(location, logger: testLogger)
                try await Migrator.migrate(database, migrations: AppMigrations.all, logger: testLogger)
                let outcome = try await Seeder(database: database, logger: testLogger).seedCatalog(files)
                #expect(outcome == (round == 0 ? .loaded(matters: files.catalog.matters.count) : .unchanged))
                let (matters, changes) = try await database.read { db in
                    (
                        try await db.raw("SELECT COUNT(*) AS n FROM matters").first()!.decode(column: "n", as: Int.self),
                        try await db.raw("SELECT COUNT(*) AS n FROM changes").first()!.decode(column: "n", as: Int.self)
                    )
                }
                #expect(matters == files.catalog.matters.count)
                let entities =
                    files.catalog.departments.count + files.catalog.licenseTypes.count + files.catalog.feeItems.count
                    + files.catalog.matters.count + files.catalog.bundles.count + files.catalog.serviceCenters.count + files.catalog.faq.count
                    + 1  // the holiday calendar, one entity
                #expect(changes == entities)
                await database.shutdown()
            }
        }
    }

    @Test(arguments: TestEngine.enabled)
    func aChangedSeedSetIsReappliedAsUpdates(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            let seeder = Seeder(database: database, logger: testLogger)
            try await seeder.seedCatalog(files)
            var changed = files
            changed.catalog.matters[0].name += "（更新）"
            changed.checksum = "different"
            #expect(try await seeder.seedCatalog(changed) == .updated(matters: files.catalog.matters.count))
            let matter = try await CatalogStore(database: database).matter(code: files.catalog.matters[0].code)
            #expect(matter?.name.hasSuffix("（更新）") == true)
            #expect(try await CatalogStore(database: database).matterCount() == files.catalog.matters.count)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func syntheticCatalogAddsMattersAndPublishesThem(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            let seeder = Seeder(database: database, logger: testLogger)
            try await seeder.seedCatalog(files)
            try await seeder.seedSynthetic(matters: 1500)
            // Deterministic codes: running it again upserts instead of growing the catalog.
            try await seeder.seedSynthetic(matters: 1500)
            let repository = CatalogStore(database: database)
            #expect(try await repository.matterCount() == files.catalog.matters.count + 1500)
            let page = try await repository.matters(MatterQuery(terms: ["syn-001500"]))
            #expect(page.items.map(\.code) == ["SYN-001500"])
            #expect(page.items[0].validationProblems.isEmpty)
        }
    }
}
