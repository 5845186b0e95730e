import Synchronization
import SyncCore

/// Tells listeners (server-sent event streams) that a scope moved to a new sequence number. Fed after each
/// commit by the database, and on Postgres by LISTEN/NOTIFY from the other instances. Pokes are hints: a slow
/// listener drops old pokes (the latest head per scope is what matters), never blocks a writer.
final class ChangeNotifier: Sendable {
    private struct Subscriber {
        var scopes: Set<Scope>
        var continuation: AsyncStream<ScopeHead>.Continuation
    }

    private let subscribers = Mutex<[Int: Subscriber]>([:])
    /// Heads learned from commits (exact only where this process is the only writer).
    let heads: HeadCache

    init(headsAreLocal: Bool) {
        heads = HeadCache(enabled: headsAreLocal)
    }
    private let nextID = Atomic<Int>(0)

    /// A scope and its newest sequence number.
    struct ScopeHead: Sendable, Equatable {
        var scope: Scope
        var seq: Int
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

    /// A stream of pokes for `scopes`; it ends when the consumer stops iterating.
    func subscribe(to scopes: Set<Scope>) -> AsyncStream<ScopeHead> {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let (stream, continuation) = AsyncStream.makeStream(of: ScopeHead.self, bufferingPolicy: .bufferingNewest(64))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = Subscriber(scopes: scopes, continuation: continuation) }
        return stream
    }

    var subscriberCount: Int { subscribers.withLock { $0.count } }
}

/// Collects the scope heads a transaction moved, so they are published only after it commits.
final class CommitHeads: Sendable {
    private let heads = Mutex<[Scope: Int]>([:])

    func record(_ moved: [Scope: Int]) {
        heads.withLock { current in current.merge(moved) { max($0, $1) } }
    }

    var all: [Scope: Int] { heads.withLock { $0 } }

    @TaskLocal static var current: CommitHeads?
}
