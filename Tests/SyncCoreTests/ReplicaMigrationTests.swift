import Foundation
import GRDB
import SyncCore
import Testing

/// A replica written by the previous release (migrations v1 and v2) opens with its entities, cursors, outbox and
/// identity intact.
@Suite struct ReplicaMigrationTests {
    /// The schema as v1 and v2 shipped it: frozen here, since phones hold files in exactly this shape.
    static let shippedSchema = """
        CREATE TABLE entities (scope TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, seq INTEGER NOT NULL,
            data TEXT NOT NULL, search_text TEXT, PRIMARY KEY (type, id));
        CREATE INDEX entities_scope ON entities (scope);
        CREATE TABLE pending_entities (type TEXT NOT NULL, id TEXT NOT NULL, scope TEXT NOT NULL, data TEXT, search_text TEXT,
            PRIMARY KEY (type, id));
        CREATE VIEW visible_entities AS
            SELECT e.scope, e.type, e.id, e.data, e.search_text FROM entities e
            WHERE NOT EXISTS (SELECT 1 FROM pending_entities p WHERE p.type = e.type AND p.id = e.id)
            UNION ALL
            SELECT scope, type, id, data, search_text FROM pending_entities WHERE data IS NOT NULL;
        CREATE TABLE cursors (scope TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL);
        CREATE TABLE outbox (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, args BLOB NOT NULL, hlc TEXT NOT NULL, account_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'rejected')), code TEXT, detail TEXT, created_at INTEGER NOT NULL,
            written_keys TEXT NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
        ALTER TABLE outbox ADD COLUMN role TEXT NOT NULL DEFAULT 'citizen';
        CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
        INSERT INTO grdb_migrations VALUES ('v1'), ('v2 outbox roles');
        """

    @Test func aPreviousReleasesReplicaKeepsEverything() throws {
        let files = try ReplicaFiles()
        let path = files.path("old")
        let account = SyncFixtures.account
        let user = Scope.user(account)
        let hlc = HLC(physical: 1_700_000_000_000, node: "old-client-0001").description
        let args = String(decoding: SyncJSON.encode(ProfileUpdate.Args(changes: .init(nickname: "queued"))), as: UTF8.self)
        do {
            let old = try DatabaseQueue(path: path)
            try old.write { db in
                try db.execute(sql: Self.shippedSchema)
                try db.execute(
                    sql: "INSERT INTO entities VALUES (?, 'profile', ?, 1, 4, ?, NULL), ('public', 'matter', ?, 1, 9, ?, NULL)",
                    arguments: [
                        user.rawValue, account, String(decoding: SyncJSON.encode(SyncFixtures.profile()), as: UTF8.self), SyncFixtures.matter(1).code,
                        String(decoding: SyncJSON.encode(SyncFixtures.matter(1)), as: UTF8.self),
                    ])
                try db.execute(sql: "INSERT INTO cursors VALUES (?, 4), ('public', 9)", arguments: [user.rawValue])
                for (id, status) in [(1, "pending"), (2, "rejected"), (3, "pending")] {
                    try db.execute(
                        sql: "INSERT INTO outbox VALUES (?, 'profile.update', ?, ?, ?, ?, ?, NULL, 0, '[]', 'citizen')",
                        arguments: [id, Data(args.utf8), hlc, account, status, status == "rejected" ? "invalid_args" : nil])
                }
                try db.execute(
                    sql: """
                        INSERT INTO meta VALUES ('clientId', 'old-client-0001'), ('nextMutationId', '4'), ('lastConfirmedMutationId', '2'),
                            ('hlc', ?)
                        """, arguments: [hlc])
            }
        }

        let replica = try Replica(path: path)
        #expect(replica.clientID == "old-client-0001")
        #expect(try replica.cursors() == [user: 4, .public: 9] && replica.epochs().isEmpty)
        #expect(try replica.entities(Matter.self, in: .public) == [SyncFixtures.matter(1)])
        #expect(try replica.entity(Profile.self, id: account)?.name == "张三")
        // Up to the confirmed id the old release had the server's answers; after it, the verdict is still to come.
        #expect(try replica.outbox().map(\.acknowledged) == [true, true, false])
        #expect(try replica.pendingMutations().map(\.id) == [3])
        #expect(try replica.mutate(ProfileUpdate.self, .init(changes: .init(nickname: "new")), accountID: account).id == 4)
    }
}
