import Foundation
import GRDB

/// A mutation made on this device, as the outbox lists it: waiting for the server, or rejected with a reason.
public struct OutboxEntry: Sendable, Equatable, Identifiable {
    /// Where a mutation stands.
    public enum Status: String, Sendable, Codable {
        /// Not yet reflected in confirmed state: pushed (or to be pushed) and replayed on every rebase.
        case pending
        /// Refused by the server, or no longer valid on a rebase: not replayed, kept so the app can say why.
        case rejected
    }

    /// The mutation id (grows by one per client).
    public var id: Int
    /// The mutator name, e.g. `profile.update`.
    public var name: String
    /// The arguments as JSON.
    public var args: [UInt8]
    /// The HLC the mutation was made at.
    public var hlc: HLC
    /// The account the mutation was made for.
    public var accountID: String
    /// Pending or rejected.
    public var status: Status
    /// The rejection code (`not_found`, `invalid_args`, …) when rejected.
    public var code: String?
    /// The rejection sentence the app can show.
    public var detail: String?
    /// Wall-clock milliseconds when the mutation was made.
    public var createdAt: Int64
    /// The entities the mutation wrote when it was made.
    public var writtenKeys: [EntityKey]
    /// Whether the server has processed it (its answer, if rejected, is in `code` and `detail`).
    public var acknowledged: Bool

    /// The mutation as it travels in a push.
    public var pendingMutation: PendingMutation { PendingMutation(id: id, name: name, args: args, hlc: hlc) }
}

/// One `outbox` row.
struct OutboxRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "outbox"

    var id: Int
    var name: String
    var args: Data
    var hlc: String
    var accountID: String
    var role: String
    var status: String
    var code: String?
    var detail: String?
    var createdAt: Int64
    var writtenKeys: String

    enum CodingKeys: String, CodingKey {
        case id, name, args, hlc, role, status, code, detail
        case accountID = "account_id"
        case createdAt = "created_at"
        case writtenKeys = "written_keys"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let status = Column(CodingKeys.status)
    }

    var parsedHLC: HLC { HLC(hlc) ?? .zero }

    var pendingMutation: PendingMutation { PendingMutation(id: id, name: name, args: Array(args), hlc: parsedHLC) }

    func entry(lastConfirmed: Int) -> OutboxEntry {
        let keys = (try? SyncJSON.decoder.decode([EntityKey].self, from: Data(writtenKeys.utf8))) ?? []
        return OutboxEntry(
            id: id, name: name, args: Array(args), hlc: parsedHLC, accountID: accountID,
            status: OutboxEntry.Status(rawValue: status) ?? .pending, code: code, detail: detail,
            createdAt: createdAt, writtenKeys: keys, acknowledged: id <= lastConfirmed
        )
    }
}

/// One `cursors` row: how far this replica has pulled a scope.
struct CursorRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "cursors"

    var scope: String
    var seq: Int
}
