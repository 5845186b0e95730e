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
        #expect(fees.count == 21)
        #expect(Set(fees.map(\.category)) == Set(FeeCategory.allCases))
        #expect(files.catalog.serviceCenters.contains { $0.level == .city })
        #expect(files.catalog.serviceCenters.contains { $0.level == .town })
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
