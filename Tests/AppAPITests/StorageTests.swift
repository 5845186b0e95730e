import Foundation
import SQLKit
import SyncCore
import Testing

@testable import AppAPI

@Suite struct StorageTests {
    @Test(arguments: TestEngine.enabled)
    func migrationsApplyOnceAndAreRecorded(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            #expect(try await Migrator.currentVersion(database) == Migrator.latestVersion(of: AppMigrations.all))
            // A second start (or a second instance) finds nothing to do.
            try await Migrator.migrate(database, migrations: AppMigrations.all, logger: testLogger)
            let count = try await database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM schema_migrations").first()!.decode(column: "n", as: Int.self)
            }
            #expect(count == AppMigrations.all.count)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func changeLogNumbersEachScopeWithoutGaps(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            let heads = try await database.transaction { db in
                try await ChangeLog.append(
                    [
                        ChangeRecord(scope: .public, type: .faq, id: "a", op: .upsert, data: "{}"),
                        ChangeRecord(scope: .user("u1"), type: .faq, id: "b", op: .upsert, data: "{}"),
                        ChangeRecord(scope: .public, type: .faq, id: "c", op: .upsert, data: "{}"),
                    ], on: db)
            }
            #expect(heads == [.public: 2, .user("u1"): 1])
            try await database.transaction { db in
                try await ChangeLog.append([ChangeRecord(scope: .public, type: .faq, id: "d", op: .upsert, data: "{}")], on: db)
            }
            let seqs = try await database.read { db in
                try await db.raw("SELECT seq FROM changes WHERE scope = 'public' ORDER BY seq").all().map {
                    try $0.decode(column: "seq", as: Int.self)
                }
            }
            #expect(seqs == [1, 2, 3])
        }
    }

    @Test(arguments: TestEngine.enabled)
    func rewritingAnEntityKeepsOneRowWithItsLatestVersion(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            for data in [#"{"v":1}"#, #"{"v":2}"#] {
                try await database.transaction { db in
                    try await ChangeLog.append([ChangeRecord(scope: .public, type: .matter, id: "M1", op: .upsert, data: data)], on: db)
                }
            }
            try await database.transaction { db in
                try await ChangeLog.append([ChangeRecord(scope: .public, type: .matter, id: "M1", op: .delete, data: nil)], on: db)
            }
            let rows = try await database.read { db in
                try await db.raw("SELECT seq, op, version, data FROM changes WHERE entity_id = 'M1'").all()
            }
            #expect(rows.count == 1)
            #expect(try rows[0].decode(column: "seq", as: Int.self) == 3)
            #expect(try rows[0].decode(column: "op", as: String.self) == "delete")
            #expect(try rows[0].decode(column: "version", as: Int.self) == 3)
            #expect(try rows[0].decode(column: "data", as: String?.self) == nil)
        }
    }

    @Test(arguments: TestEngine.enabled)
    func concurrentWritersGetDistinctContiguousSequences(engine: TestEngine) async throws {
        try await withMigratedDatabase(engine) { database in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        for n in 0..<10 {
                            try await database.transaction { db in
                                try await ChangeLog.append(
                                    [ChangeRecord(scope: .public, type: .faq, id: "w\(writer)-\(n)", op: .upsert, data: "{}")], on: db)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seqs = try await database.read { db in
                try await db.raw("SELECT seq FROM changes WHERE scope = 'public' ORDER BY seq").all().map {
                    try $0.decode(column: "seq", as: Int.self)
                }
            }
            #expect(seqs == Array(1...80))
        }
    }

    @Test(arguments: TestEngine.enabled)
    func aFailedTransactionLeavesNoTrace(engine: TestEngine) async throws {
        struct Boom: Error {}
        try await withMigratedDatabase(engine) { database in
            await #expect(throws: Boom.self) {
                try await database.transaction { db in
                    try await ChangeLog.append([ChangeRecord(scope: .public, type: .faq, id: "x", op: .upsert, data: "{}")], on: db)
                    throw Boom()
                }
            }
            let head = try await database.read { db in try await ChangeLog.head(of: .public, on: db) }
            #expect(head == 0)
        }
    }

    @Test func databaseURLsParseAndNeverShowPasswords() throws {
        #expect(try DatabaseLocation("data/x.sqlite") == .sqlite(path: "data/x.sqlite"))
        #expect(try DatabaseLocation("sqlite:/tmp/a.db") == .sqlite(path: "/tmp/a.db"))
        let location = try DatabaseLocation("postgres://app:s3cr%40t@db.internal:6543/onetrip")
        guard case .postgres(let url) = location else {
            Issue.record("expected a Postgres location")
            return
        }
        #expect(url.host == "db.internal" && url.port == 6543 && url.username == "app" && url.password == "s3cr@t" && url.database == "onetrip")
        #expect(!location.description.contains("s3cr"))
        #expect(throws: ConfigurationError.self) { try DatabaseLocation("mysql://root:pw@host/db") }
        do {
            _ = try DatabaseLocation("mysql://root:hunter2@host/db")
        } catch let error as ConfigurationError {
            #expect(!error.description.contains("hunter2"))
        }
    }
}
