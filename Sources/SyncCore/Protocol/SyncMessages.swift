/// The delta-sync wire protocol (DESIGN.md §4), shared by the server, `appcli` and any Swift client.
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
    /// The last mutation of this client the server has applied (or rejected) — everything up to it is reflected.
    public var lastMutationID: Int
    /// The server's clock, so a device whose clock is wrong catches up.
    public var serverHLC: HLC

    public init(changes: [Change], cursors: [Scope: Int], hasMore: Bool, reset: [Scope], lastMutationID: Int, serverHLC: HLC) {
        self.changes = changes
        self.cursors = cursors
        self.hasMore = hasMore
        self.reset = reset
        self.lastMutationID = lastMutationID
        self.serverHLC = serverHLC
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

    public init(id: Int, status: Status, code: String? = nil, detail: String? = nil) {
        self.id = id
        self.status = status
        self.code = code
        self.detail = detail
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
