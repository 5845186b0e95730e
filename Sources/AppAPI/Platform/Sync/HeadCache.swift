import SyncCore
import Synchronization

/// What this instance knows for certain about scope heads and clients' last mutation ids, so an up-to-date pull
/// (the most frequent request of all) answers without touching the database.
///
/// Only exact where this process is the only writer — the embedded SQLite mode, where the server holds the file's
/// lock and maintenance commands refuse to write behind it. With Postgres and several instances another instance
/// may have committed a moment ago, so the cache stays off and pulls read the database (read-your-writes across
/// instances matters more than the saved query).
final class HeadCache: Sendable {
    struct Head: Sendable, Equatable {
        var seq: Int
        var purged: Int
    }

    let enabled: Bool
    private let heads = Mutex<[Scope: Head]>([:])
    private let clients = Mutex<[String: SyncClients.Row]>([:])
    private static let clientLimit = 100_000

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

    /// The client's last mutation id, only when the cache knows the client is bound to this very account and device
    /// (another account's pull with the same client id learns nothing here).
    func lastMutation(of clientID: String, for identity: Identity) -> Int? {
        guard enabled, let row = clients.withLock({ $0[clientID] }), row.accountID == identity.accountID, row.deviceID == identity.deviceID else {
            return nil
        }
        return row.lastMutationID
    }

    func learn(client clientID: String, _ row: SyncClients.Row) {
        guard enabled else { return }
        clients.withLock { known in
            if known.count >= Self.clientLimit { known.removeAll(keepingCapacity: true) }
            var row = row
            if let previous = known[clientID], previous.accountID == row.accountID {
                row.lastMutationID = max(row.lastMutationID, previous.lastMutationID)
            }
            known[clientID] = row
        }
    }
}
