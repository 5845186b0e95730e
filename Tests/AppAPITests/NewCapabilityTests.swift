import Foundation
import SQLKit
import SyncCore
import Testing

@testable import AppAPI

// A capability written only in this file — an entity type, a mutator, a server-side persister with its own table —
// and run by the unchanged sync engine: adding one touches no file under Sources/AppAPI/Platform or SyncCore/Engine.

/// A matter a citizen bookmarked on the phone, with a note.
struct Bookmark: SyncEntity {
    static let entityType = EntityType("test_bookmark")
    var id: String
    var matterCode: String
    var note: String
}

/// `bookmark.save`: bookmark a catalog matter (reads the matter, so an unknown one is refused).
enum BookmarkSave: Mutator {
    static let name = "bookmark.save"
    static let allowedRoles = AccountRole.applicants

    struct Args: Codable, Sendable {
        var bookmarkId: String
        var matterCode: String
        var note: String
    }

    static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        [EntityKey(Bookmark.entityType, args.bookmarkId), EntityKey(.matter, args.matterCode)]
    }

    static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        guard try state.get(Matter.self, id: args.matterCode) != nil else { throw .invalid("matterCode", "no such matter") }
        guard args.note.count <= 100 else { throw .invalid("note", "at most 100 characters") }
        state.put(Bookmark(id: args.bookmarkId, matterCode: args.matterCode, note: args.note))
    }
}

/// Stores bookmarks in the capability's own table (counting them per account) and publishes them to the owner's scope.
struct BookmarkPersister: EntityPersister {
    var entityType: EntityType { Bookmark.entityType }

    func load(_ keys: [EntityKey], context: MutationContext, from log: ChangeLogView) async throws -> [EntityKey: [UInt8]?] {
        var loaded: [EntityKey: [UInt8]?] = [:]
        for key in keys { loaded[key] = .some(try await log.entity(key, in: .user(context.accountID))) }
        return loaded
    }

    func persist(_ key: EntityKey, old: [UInt8]?, new: [UInt8]?, context: MutationContext, on log: ChangeLogView) async throws -> [ChangeRecord] {
        guard let new else { return [.delete(key, in: .user(context.accountID))] }
        try await log.db.raw(
            "INSERT INTO test_bookmarks (id, account_id) VALUES (\(bind: key.id), \(bind: context.accountID)) ON CONFLICT (id) DO NOTHING"
        ).run()
        return [.upsert(json: new, key: key, in: .user(context.accountID))]
    }
}

@Suite struct NewCapabilityTests {
    @Test("A new entity type with a server-side persister runs on the unchanged engine", arguments: TestEngine.enabled)
    func aCapabilityIsAFolderAndOneLineOfWiring(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let tables = Migration(version: 1000, name: "test bookmarks") { _ in
                ["CREATE TABLE test_bookmarks (id TEXT PRIMARY KEY, account_id TEXT NOT NULL)"]
            }
            try await Migrator.migrate(database, migrations: AppMigrations.all + [tables], logger: testLogger)
            let session = try await client.loginCitizen()
            // The one line of wiring: the schema and the registry gain the capability's mutator and persister.
            let schema = SyncSchema.oneTrip.adding(entities: [EntityDescriptor(Bookmark.self)], mutators: [AnyMutator(BookmarkSave.self)])
            let registry = SyncRegistry(CatalogStore.persisters + [BookmarkPersister()])
            let sync = SyncService(
                database: database, runner: MutationRunner(schema: schema, registry: registry),
                clients: SyncClients(deviceIsActive: { _ in true }, runtime: .live), clock: ServerClock(), headCache: HeadCache(enabled: false),
                runtime: .live)
            let identity = Identity(accountID: session.account.id, kind: .citizen, deviceID: session.deviceId)
            let hlc = HLC(physical: Int64(Date().timeIntervalSince1970 * 1000), node: "phone")
            func args(_ id: String, _ matter: String) -> [UInt8] {
                SyncJSON.encode(BookmarkSave.Args(bookmarkId: id, matterCode: matter, note: "周一去办"))
            }
            let outcome = try await sync.push(
                clientID: "bookmark-client",
                mutations: [
                    PendingMutation(id: 1, name: BookmarkSave.name, args: args("bm_1", "330100-RE-0004"), hlc: hlc),
                    PendingMutation(id: 2, name: BookmarkSave.name, args: args("bm_2", "NO-SUCH"), hlc: hlc),
                ], identity: identity)
            #expect(outcome.results.map(\.status) == [.applied, .rejected])
            let page = try await sync.pull(PullRequest(clientID: "bookmark-client", cursors: [:], limit: 2000), identity: identity)
            let bookmark = try #require(page.changes.first { $0.type == Bookmark.entityType })
            #expect(bookmark.scope == .user(session.account.id))
            #expect(try SyncJSON.decoder.decode(Bookmark.self, from: Data(try #require(bookmark.data))).note == "周一去办")
            let rows = try await database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM test_bookmarks").first()?.decode(column: "n", as: Int.self)
            }
            #expect(rows == 1)
        }
    }
}
