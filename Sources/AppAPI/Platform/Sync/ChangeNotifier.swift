import Logging
import SQLKit
import ServiceLifecycle
import SyncCore
import Synchronization

/// Tells listeners (server-sent event streams) that a scope moved to a new sequence number. It observes the
/// database's commits (`ScopeHeadsMoved` notes), and on Postgres also hears the other instances through
/// LISTEN/NOTIFY (`PokeRelayService`). Pokes are hints: a slow listener drops old pokes (the latest head per scope is
/// what matters), never blocks a writer.
final class ChangeNotifier: CommitObserver {
    private struct Subscriber {
        var scopes: Set<Scope>
        var accountID: String
        var continuation: AsyncStream<ScopeHead>.Continuation
    }

    /// The NOTIFY channel for scope pokes.
    static let channel = "onetrip_scope_heads"
    /// Open event streams one account may hold on one instance (a phone and a tablet, with room for reconnects).
    static let maxStreamsPerAccount = 5

    private let subscribers = Mutex<[Int: Subscriber]>([:])
    private let nextID = Atomic<Int>(0)
    /// Heads learned from commits (exact only where this process is the only writer).
    let heads: HeadCache

    init(heads: HeadCache) {
        self.heads = heads
    }

    /// A scope and its newest sequence number.
    struct ScopeHead: Sendable, Equatable {
        var scope: Scope
        var seq: Int
    }

    func willCommit(_ notes: [any Sendable], on db: any SQLDatabase, engine: DatabaseEngine) async throws {
        guard engine == .postgres else { return }
        // Other instances hear about the commit through LISTEN/NOTIFY, delivered only if it commits.
        for (scope, seq) in Self.moved(notes).sorted(by: { $0.key < $1.key }) {
            try await db.raw("SELECT pg_notify(\(bind: Self.channel), \(bind: "\(scope.rawValue) \(seq)"))").run()
        }
    }

    func didCommit(_ notes: [any Sendable]) { publish(Self.moved(notes)) }

    private static func moved(_ notes: [any Sendable]) -> [Scope: Int] {
        var heads: [Scope: Int] = [:]
        for case let moved as ScopeHeadsMoved in notes { heads.merge(moved.heads) { max($0, $1) } }
        return heads
    }

    func publish(_ heads: [Scope: Int]) {
        guard !heads.isEmpty else { return }
        self.heads.advance(heads)
        let targets = subscribers.withLock { Array($0.values) }
        for subscriber in targets {
            for (scope, seq) in heads where subscriber.scopes.contains(scope) {
                subscriber.continuation.yield(ScopeHead(scope: scope, seq: seq))
            }
        }
    }

    /// A stream of pokes for `scopes`; it ends when the consumer stops iterating. `nil` when the account already
    /// holds `maxStreamsPerAccount` streams here.
    func subscribe(to scopes: Set<Scope>, accountID: String) -> AsyncStream<ScopeHead>? {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (stream, continuation) = AsyncStream.makeStream(of: ScopeHead.self, bufferingPolicy: .bufferingNewest(64))
        let admitted = subscribers.withLock { all -> Bool in
            guard all.values.filter({ $0.accountID == accountID }).count < Self.maxStreamsPerAccount else { return false }
            all[id] = Subscriber(scopes: scopes, accountID: accountID, continuation: continuation)
            return true
        }
        guard admitted else {
            continuation.finish()
            return nil
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    var subscriberCount: Int { subscribers.withLock { $0.count } }

    /// Parses a NOTIFY payload (`<scope> <seq>`).
    static func parse(_ payload: String) -> [Scope: Int]? {
        let parts = payload.split(separator: " ")
        guard parts.count == 2, let scope = Scope(String(parts[0])), let seq = Int(parts[1]) else { return nil }
        return [scope: seq]
    }
}

/// Relays other instances' pokes (Postgres LISTEN) into this instance's notifier while the server runs.
struct PokeRelayService: Service {
    let store: PostgresDatabaseStore
    let notifier: ChangeNotifier

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await store.listen(ChangeNotifier.channel) { payload in
                if let heads = ChangeNotifier.parse(payload) { notifier.publish(heads) }
            }
        }
    }
}
