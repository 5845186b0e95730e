import Synchronization
import SyncCore

/// What this instance knows for certain about scope heads and clients' last mutation ids, so an up-to-date pull
/// (the most frequent request of all) answers without touching the database.
///
/// Only exact where this process is the only writer — the embedded SQLite mode. With Postgres and several
/// instances another instance may have committed a moment ago, so the cache stays off and pulls read the
/// database (read-your-writes across instances matters more than the saved query).
final class HeadCache: Sendable {
    struct Head: Sendable, Equatable {
        var seq: Int
        var purged: Int
    }

    let enabled: Bool
    private let heads = Mutex<[Scope: Head]>([:])
    private let lastMutations = Mutex<[String: Int]>([:])
    private static let clientLimit = 100_000
    /// Whether any client may be paging through a reset re-download (checked in the database only then).
    let resetsMayExist = Mutex(true)

    init(enabled: Bool) { self.enabled = enabled }

    /// Heads of all `scopes`, or `nil` if any is unknown here.
    func heads(of scopes: [Scope]) -> [Scope: Head]? {
        guard enabled else { return nil }
        return heads.withLock { known in
            var found: [Scope: Head] = [:]
            for scope in scopes {
                guard let head = known[scope] else { return nil }
                found[scope] = head
            }
            return found
        }
    }

    /// Records heads read from the database (never moving one backwards).
    func learn(_ read: [Scope: Head]) {
        guard enabled else { return }
        heads.withLock { known in
            for (scope, head) in read where (known[scope]?.seq ?? -1) <= head.seq { known[scope] = head }
        }
    }

    /// A commit moved these scopes (called after commit, in commit order).
    func advance(_ moved: [Scope: Int]) {
        guard enabled else { return }
        heads.withLock { known in
            for (scope, seq) in moved {
                known[scope] = Head(seq: max(seq, known[scope]?.seq ?? 0), purged: known[scope]?.purged ?? 0)
            }
        }
    }

    /// Forget everything about heads (the compactor moved a horizon).
    func invalidateHeads() { heads.withLock { $0.removeAll() } }

    func lastMutation(of clientID: String) -> Int? {
        guard enabled else { return nil }
        return lastMutations.withLock { $0[clientID] }
    }

    func learnLastMutation(_ id: Int, of clientID: String) {
        guard enabled else { return }
        lastMutations.withLock { known in
            if known.count >= Self.clientLimit { known.removeAll(keepingCapacity: true) }
            known[clientID] = max(id, known[clientID] ?? 0)
        }
    }
}
