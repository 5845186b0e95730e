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
    /// For a rejection by the server: the fields at fault (JSON pointers into the arguments).
    public var errors: [FieldProblem]
    /// For a rejection by the server: what the app may offer instead (free slots of a full one).
    public var alternatives: [String]
    /// Wall-clock milliseconds when the mutation was made.
    public var createdAt: Int64
    /// The entities the mutation wrote when it was made.
    public var writtenKeys: [EntityKey]
    /// Whether the server has given its verdict: applied (waiting for the pull that brings its effect) or rejected
    /// (`code` and `detail` are then the server's). An unacknowledged rejection is only this device's prediction.
    public var acknowledged: Bool

    /// The mutation as it travels in a push.
    public var pendingMutation: PendingMutation { PendingMutation(id: id, name: name, args: args, hlc: hlc) }
}

/// One `outbox` row.
struct OutboxRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "outbox"

    /// The server's verdict on a mutation, as the `verdict` column stores it.
    enum Verdict: String {
        case applied, rejected
    }

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
    var verdict: String?
    var errors: String?
    var alternatives: String?

    enum CodingKeys: String, CodingKey {
        case id, name, args, hlc, role, status, code, detail, verdict, errors, alternatives
        case accountID = "account_id"
        case createdAt = "created_at"
        case writtenKeys = "written_keys"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let status = Column(CodingKeys.status)
        static let verdict = Column(CodingKeys.verdict)
    }

    var parsedHLC: HLC { HLC(hlc) ?? .zero }

    var parsedVerdict: Verdict? { verdict.flatMap(Verdict.init(rawValue:)) }

    var isPending: Bool { status == OutboxEntry.Status.pending.rawValue }

    var pendingMutation: PendingMutation { PendingMutation(id: id, name: name, args: Array(args), hlc: parsedHLC) }

    /// Records the server's rejection, with its code, sentence and structured details.
    mutating func reject(_ result: MutationResult) {
        status = OutboxEntry.Status.rejected.rawValue
        verdict = Verdict.rejected.rawValue
        code = result.code ?? "rejected"
        detail = result.detail
        errors = result.errors.isEmpty ? nil : String(decoding: SyncJSON.encode(result.errors), as: UTF8.self)
        alternatives = result.alternatives.isEmpty ? nil : String(decoding: SyncJSON.encode(result.alternatives), as: UTF8.self)
    }

    /// Back to pending with no reason: after the server applied it (`verdict`), or to be judged afresh (`nil`).
    mutating func makePending(verdict: Verdict?) {
        status = OutboxEntry.Status.pending.rawValue
        self.verdict = verdict?.rawValue
        code = nil
        detail = nil
        errors = nil
        alternatives = nil
    }

    var entry: OutboxEntry {
        let keys = (try? SyncJSON.decoder.decode([EntityKey].self, from: Data(writtenKeys.utf8))) ?? []
        let errors = self.errors.flatMap { try? SyncJSON.decoder.decode([FieldProblem].self, from: Data($0.utf8)) } ?? []
        let alternatives = self.alternatives.flatMap { try? SyncJSON.decoder.decode([String].self, from: Data($0.utf8)) } ?? []
        return OutboxEntry(
            id: id, name: name, args: Array(args), hlc: parsedHLC, accountID: accountID,
            status: OutboxEntry.Status(rawValue: status) ?? .pending, code: code, detail: detail, errors: errors, alternatives: alternatives,
            createdAt: createdAt, writtenKeys: keys, acknowledged: parsedVerdict != nil
        )
    }
}

/// One `cursors` row: how far this replica has pulled a scope, and the epoch of the re-download it is in, if any.
struct CursorRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "cursors"

    var scope: String
    var seq: Int
    var epoch: String?
}
