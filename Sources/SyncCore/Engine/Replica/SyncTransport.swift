/// How a replica reaches the server: a struct of closures (isowords style), so the CLI plugs in its HTTP client,
/// tests an in-memory server, and a kiosk whatever link it has.
public struct SyncTransport: Sendable {
    /// `POST /v1/sync/pull`: the changes after the request's cursors (an empty map means a fresh replica: every
    /// readable scope), with its reset epochs sent back.
    public var pull: @Sendable (_ request: PullRequest) async throws -> PullPage
    /// `POST /v1/sync/push`: replays `mutations` on the server, exactly once each.
    public var push: @Sendable (_ clientID: String, _ mutations: [PendingMutation]) async throws -> PushOutcome

    /// A transport from its two operations.
    public init(
        pull: @escaping @Sendable (_ request: PullRequest) async throws -> PullPage,
        push: @escaping @Sendable (_ clientID: String, _ mutations: [PendingMutation]) async throws -> PushOutcome
    ) {
        self.pull = pull
        self.push = push
    }

    /// A device without a network: every call fails with `SyncTransportError.offline`.
    public static let offline = SyncTransport(
        pull: { _ in throw SyncTransportError.offline },
        push: { _, _ in throw SyncTransportError.offline }
    )
}

/// Failures a transport reports, so the engine knows whether trying again can help.
public enum SyncTransportError: Error, Equatable, Sendable {
    /// Worth retrying soon: a timeout, a dropped connection, 429 or 5xx.
    case transient(String)
    /// No network at all: not retried now; sync again when connectivity returns.
    case offline
    /// Retrying will not help: the server refused the request (4xx) or its answer cannot be read.
    case permanent(String)
    /// The server refused the request with a problem code the engine acts on: `client_cloned` (this client id is
    /// bound to another device, the replica was copied) makes it take a new client id and sync again; any other code
    /// is as final as `permanent`.
    case refused(code: String, detail: String)

    /// Whether the engine retries it with back-off.
    public var isTransient: Bool {
        if case .transient = self { return true }
        return false
    }

    /// Whether the server refused this replica's client id as in use by another device.
    public var isClientCloned: Bool {
        if case .refused(let code, _) = self { return code == ProblemCode.clientCloned.rawValue }
        return false
    }
}
