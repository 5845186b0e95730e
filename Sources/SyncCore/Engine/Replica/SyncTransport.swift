/// How a replica reaches the server: a struct of closures (isowords style), so the CLI plugs in its HTTP client,
/// tests an in-memory server, and a kiosk whatever link it has.
public struct SyncTransport: Sendable {
    /// `POST /v1/sync/pull`: the changes after `cursors` (an empty map means a fresh replica: every readable scope).
    public var pull: @Sendable (_ clientID: String, _ cursors: [Scope: Int], _ limit: Int) async throws -> PullPage
    /// `POST /v1/sync/push`: replays `mutations` on the server, exactly once each.
    public var push: @Sendable (_ clientID: String, _ mutations: [PendingMutation]) async throws -> PushOutcome

    /// A transport from its two operations.
    public init(
        pull: @escaping @Sendable (_ clientID: String, _ cursors: [Scope: Int], _ limit: Int) async throws -> PullPage,
        push: @escaping @Sendable (_ clientID: String, _ mutations: [PendingMutation]) async throws -> PushOutcome
    ) {
        self.pull = pull
        self.push = push
    }

    /// A device without a network: every call fails with `SyncTransportError.offline`.
    public static let offline = SyncTransport(
        pull: { _, _, _ in throw SyncTransportError.offline },
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

    /// Whether the engine retries it with back-off.
    public var isTransient: Bool {
        if case .transient = self { return true }
        return false
    }
}
