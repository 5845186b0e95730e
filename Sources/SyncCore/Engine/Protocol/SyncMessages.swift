/// The delta-sync wire protocol (docs/ARCHITECTURE.md, "Delta sync"), shared by the server, `appcli` and any Swift client.
/// Entity payloads are raw JSON bytes here; the HTTP layer carries them as JSON objects.

/// One entity change in a pull page.
public struct Change: Sendable, Equatable {
    public enum Operation: String, Codable, Sendable { case upsert, delete }

    public var scope: Scope
    public var seq: Int
    public var type: EntityType
    public var id: String
    public var op: Operation
    public var version: Int
    /// The entity as JSON (`nil` for a delete).
    public var data: [UInt8]?

    public init(scope: Scope, seq: Int, type: EntityType, id: String, op: Operation, version: Int, data: [UInt8]?) {
        self.scope = scope
        self.seq = seq
        self.type = type
        self.id = id
        self.op = op
        self.version = version
        self.data = data
    }
}

/// A pull page.
public struct PullPage: Sendable, Equatable {
    public var changes: [Change]
    /// The cursor to send next time, per scope.
    public var cursors: [Scope: Int]
    public var hasMore: Bool
    /// Scopes whose cursor was older than the tombstone horizon: drop them and re-download (keep pending mutations).
    public var reset: [Scope]
    /// For each scope in `reset`, the epoch of that re-download: the client keeps it with the scope's cursor and sends
    /// it with every later pull (`epochs`), so the server can tell a re-download in progress from a stale cursor whose
    /// reset answer was lost.
    public var resetEpochs: [Scope: String]
    /// The last mutation of this client the server has applied (or rejected) — everything up to it is reflected.
    public var lastMutationID: Int
    /// The server's clock, so a device whose clock is wrong catches up.
    public var serverHLC: HLC

    public init(
        changes: [Change], cursors: [Scope: Int], hasMore: Bool, reset: [Scope], resetEpochs: [Scope: String] = [:], lastMutationID: Int,
        serverHLC: HLC
    ) {
        self.changes = changes
        self.cursors = cursors
        self.hasMore = hasMore
        self.reset = reset
        self.resetEpochs = resetEpochs
        self.lastMutationID = lastMutationID
        self.serverHLC = serverHLC
    }
}

/// What a client asks a pull for.
public struct PullRequest: Sendable, Equatable {
    public var clientID: String
    /// How far the client has each scope; a scope it does not name starts at 0 (an empty map: a fresh replica).
    public var cursors: [Scope: Int]
    /// The epochs of re-downloads in progress (from `PullPage.resetEpochs`).
    public var epochs: [Scope: String]
    /// The most changes wanted in the page.
    public var limit: Int

    public init(clientID: String, cursors: [Scope: Int], epochs: [Scope: String] = [:], limit: Int) {
        self.clientID = clientID
        self.cursors = cursors
        self.epochs = epochs
        self.limit = limit
    }
}

/// A mutation a client asks the server to replay: `id` grows by one per client, `args` is JSON.
public struct PendingMutation: Sendable, Equatable, Codable {
    public var id: Int
    public var name: String
    public var args: [UInt8]
    public var hlc: HLC

    public init(id: Int, name: String, args: [UInt8], hlc: HLC) {
        self.id = id
        self.name = name
        self.args = args
        self.hlc = hlc
    }
}

/// What the server did with one pushed mutation.
public struct MutationResult: Sendable, Equatable, Codable {
    public enum Status: String, Codable, Sendable { case applied, duplicate, rejected }

    public var id: Int
    public var status: Status
    public var code: String?
    public var detail: String?
    /// The fields at fault in the mutation's arguments (JSON pointers), for a rejection.
    public var errors: [FieldProblem]
    /// What the app may offer instead (free slots of a full one), for a rejection.
    public var alternatives: [String]

    public init(id: Int, status: Status, code: String? = nil, detail: String? = nil, errors: [FieldProblem] = [], alternatives: [String] = []) {
        self.id = id
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.alternatives = alternatives
    }

    /// The rejected result for `rejection`.
    public static func rejected(_ id: Int, _ rejection: MutationRejection) -> MutationResult {
        MutationResult(
            id: id, status: .rejected, code: rejection.code.rawValue, detail: rejection.detail, errors: rejection.errors,
            alternatives: rejection.alternatives)
    }

    private enum CodingKeys: String, CodingKey { case id, status, code, detail, errors, alternatives }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(Int.self, forKey: .id)
        status = try container.decode(Status.self, forKey: .status)
        code = try container.decodeIfPresent(String.self, forKey: .code)
        detail = try container.decodeIfPresent(String.self, forKey: .detail)
        errors = try container.decodeIfPresent([FieldProblem].self, forKey: .errors) ?? []
        alternatives = try container.decodeIfPresent([String].self, forKey: .alternatives) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(code, forKey: .code)
        try container.encodeIfPresent(detail, forKey: .detail)
        if !errors.isEmpty { try container.encode(errors, forKey: .errors) }
        if !alternatives.isEmpty { try container.encode(alternatives, forKey: .alternatives) }
    }
}

/// The answer to a push.
public struct PushOutcome: Sendable, Equatable {
    public var results: [MutationResult]
    public var lastMutationID: Int

    public init(results: [MutationResult], lastMutationID: Int) {
        self.results = results
        self.lastMutationID = lastMutationID
    }
}

extension PushOutcome {
    /// The results that are the server's verdict on a mutation. The others ask for the mutation again: an id past
    /// `lastMutationID` (`out_of_order`), and a reused id with everything after it (renumbered, then resent).
    public var verdicts: [MutationResult] {
        let reused = results.filter { $0.code == ProblemCode.mutationIDReused.rawValue }.map(\.id).min() ?? .max
        return results.filter { result in
            result.id <= lastMutationID && result.id < reused && result.code != ProblemCode.outOfOrder.rawValue
        }
    }
}
