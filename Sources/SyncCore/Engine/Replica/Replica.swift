import Foundation
import GRDB
import Synchronization

/// A device's local copy of its sync scopes (docs/ARCHITECTURE.md, "Delta sync"), in SQLite through GRDB: server-confirmed entities (one
/// copy per scope an entity lives in), an optimistic overlay from pending mutations, per-scope cursors and reset
/// epochs, the outbox with the server's verdicts, and the HLC — all the app needs offline.
///
/// Every method is synchronous and safe to call from any thread; each write is one GRDB transaction.
public final class Replica: Sendable {
    /// This replica's sync client id, kept in `meta`: random on first open, stable until the server refuses it as
    /// in use by a copy of this replica (`startNewClient()`); also the node of its HLC stamps.
    public var clientID: String { identity.withLock { $0 } }
    /// The entity types and mutators this replica knows.
    public let schema: SyncSchema
    let writer: any DatabaseWriter
    /// The device's own clock; stamps and mutation times use it shifted by the offset learned from the server.
    let wallClock: @Sendable () -> Int64
    let identity: Mutex<String>

    /// Opens the replica stored at `path` (created on first use, WAL mode), or a fresh in-memory one when `path` is nil.
    public init(path: String?, schema: SyncSchema, wallClock: @escaping @Sendable () -> Int64) throws {
        let writer: any DatabaseWriter
        if let path {
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            writer = try DatabasePool(path: path, configuration: configuration)
        } else {
            writer = try DatabaseQueue()
        }
        try Self.migrator.migrate(writer)
        self.identity = Mutex(try writer.write { db in try MetaRecord.clientID(db) })
        self.schema = schema
        self.writer = writer
        self.wallClock = wallClock
    }
}

// MARK: - Clock and counters kept in `meta`

extension Replica {
    /// The replica's hybrid logical clock as last saved, reading the wall clock in server time.
    func clock(_ db: Database) throws -> HybridLogicalClock {
        let last = try MetaRecord.value(db, .hlc).flatMap { HLC($0) }
        let offset = try serverOffset(db)
        let wallClock = self.wallClock
        return HybridLogicalClock(node: try MetaRecord.clientID(db), last: last, wallClock: { Self.shift(wallClock(), by: offset) })
    }

    func save(_ clock: HybridLogicalClock, _ db: Database) throws {
        try MetaRecord.set(db, .hlc, clock.last.description)
    }

    /// The device's wall clock in server time: what a mutation records as its `now`.
    func now(_ db: Database) throws -> Int64 { Self.shift(wallClock(), by: try serverOffset(db)) }

    /// How far the server's clock is ahead of this device's (negative when the device runs fast).
    func serverOffset(_ db: Database) throws -> Int64 {
        try MetaRecord.value(db, .serverClockOffset).flatMap { Int64($0) } ?? 0
    }

    /// Learns the offset from a page's `serverHLC`, so that after its first sync a device whose clock is hours off
    /// stamps edits in server time and "the later edit wins" holds between devices. The HLC's `last` is kept, so
    /// stamps never go backwards when the offset shrinks.
    func learnServerTime(from serverHLC: HLC, _ db: Database) throws {
        // `.zero` stands for an unreadable server clock: nothing to learn.
        guard serverHLC.physical > 0 else { return }
        let (offset, overflow) = serverHLC.physical.subtractingReportingOverflow(wallClock())
        guard !overflow else { return }
        try MetaRecord.set(db, .serverClockOffset, String(offset))
    }

    static func shift(_ millis: Int64, by offset: Int64) -> Int64 {
        let (shifted, overflow) = millis.addingReportingOverflow(offset)
        return overflow ? (offset > 0 ? .max : .min) : shifted
    }

    /// The highest mutation id the server has processed (applied, rejected or acknowledged as duplicate).
    func lastConfirmedMutationID(_ db: Database) throws -> Int {
        try MetaRecord.value(db, .lastConfirmedMutationID).flatMap { Int($0) } ?? 0
    }

    /// The `lastMutationId` of the last pull that ended (`hasMore == false`): every mutation up to it is reflected in
    /// the confirmed entities, so a rebase does not replay it.
    func reflectedMutationID(_ db: Database) throws -> Int {
        try MetaRecord.value(db, .reflectedMutationID).flatMap { Int($0) } ?? 0
    }

    func nextMutationID(_ db: Database) throws -> Int {
        try MetaRecord.value(db, .nextMutationID).flatMap { Int($0) } ?? 1
    }

    /// Records that the server has processed every mutation up to `id`. Also moves the id counter past it: a replica
    /// restored from an old backup must not reuse ids the server already holds.
    func confirmMutations(upTo id: Int, _ db: Database) throws {
        if id > (try lastConfirmedMutationID(db)) {
            try MetaRecord.set(db, .lastConfirmedMutationID, String(id))
        }
        if id >= (try nextMutationID(db)) {
            try MetaRecord.set(db, .nextMutationID, String(id + 1))
        }
    }
}

/// One `meta` row: the replica's scalar state (client id, mutation counters, HLC, server clock offset).
struct MetaRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "meta"

    enum Key: String {
        case clientID = "clientId"
        case nextMutationID = "nextMutationId"
        case lastConfirmedMutationID = "lastConfirmedMutationId"
        case reflectedMutationID = "reflectedMutationId"
        case hlc
        case serverClockOffset = "serverClockOffset"
    }

    var key: String
    var value: String

    // Read and written several times per transaction: cached statements, not the query interface.
    static func value(_ db: Database, _ key: Key) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"), arguments: [key.rawValue])
    }

    static func set(_ db: Database, _ key: Key, _ value: String) throws {
        let upsert = try db.cachedStatement(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        try upsert.execute(arguments: [key.rawValue, value])
    }

    /// The stored client id, generated on first open.
    static func clientID(_ db: Database) throws -> String {
        if let existing = try value(db, .clientID) { return existing }
        let generated = newClientID()
        try set(db, .clientID, generated)
        return generated
    }

    /// A fresh random client id (a lower-case UUID: 36 characters of `[0-9a-f-]`).
    static func newClientID() -> String { UUID().uuidString.lowercased() }
}
