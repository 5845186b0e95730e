import Foundation
import Logging
import SQLKit
import SyncCore

/// Loads seed sets into the database idempotently: each set is recorded in `seed_runs` with its checksum, so a
/// restart does nothing and a changed seed file is re-applied as upserts (never as duplicates).
struct Seeder: Sendable {
    let database: any Database
    let logger: Logger

    enum Outcome: Equatable, Sendable {
        case loaded(matters: Int)
        case updated(matters: Int)
        case unchanged
    }

    /// Loads the seed files unless this exact set was loaded before.
    @discardableResult
    func seedCatalog(_ files: SeedFiles) async throws -> Outcome {
        let repository = CatalogStore(database: database)
        return try await database.transaction { db in
            let previous = try await db.select().column("checksum").from("seed_runs").where("name", .equal, "catalog").first()
                .map { try $0.decode(column: "checksum", as: String.self) }
            if previous == files.checksum { return .unchanged }
            try await repository.save(files.catalog, on: db)
            try await Self.record("catalog", checksum: files.checksum, on: db)
            return previous == nil ? .loaded(matters: files.catalog.matters.count) : .updated(matters: files.catalog.matters.count)
        }
    }

    /// Adds `count` generated matters (codes `SYN-…`) for scale tests, spread over the seeded departments.
    func seedSynthetic(matters count: Int, progress: (@Sendable (Int) -> Void)? = nil) async throws {
        let repository = CatalogStore(database: database)
        let departments = try await repository.departments()
        guard !departments.isEmpty else { throw SeedError(problems: ["load the seed catalog before synthetic matters"]) }
        let batch = 1000
        var done = 0
        while done < count {
            let size = min(batch, count - done)
            let matters = (done..<(done + size)).map { SyntheticCatalog.matter(number: $0 + 1, departments: departments) }
            try await database.transaction { db in
                try await repository.save(CatalogContent(matters: matters), on: db)
            }
            done += size
            progress?(done)
        }
        try await database.transaction { db in
            try await Self.record("synthetic", checksum: "matters=\(count)", on: db)
        }
    }

    private static func record(_ name: String, checksum: String, on db: any SQLDatabase) async throws {
        try await db.insert(into: "seed_runs").columns("name", "checksum", "applied_at")
            .values(SQLBind(name), SQLBind(checksum), SQLBind(Clock.nowMillis()))
            .onConflict(with: ["name"]) { $0.set(excludedValueOf: "checksum").set(excludedValueOf: "applied_at") }
            .run()
    }
}
