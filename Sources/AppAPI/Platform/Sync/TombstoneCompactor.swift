import Logging
import SQLKit
import SyncCore

/// Deletes tombstones older than the horizon (default 30 days) and raises each scope's `purged_seq`, so a client
/// whose cursor predates them is told to re-download the scope instead of silently missing a delete.
struct TombstoneCompactor: Sendable {
    static let defaultHorizon: Duration = .seconds(30 * 24 * 3600)

    let database: any Database
    let headCache: HeadCache
    let runtime: Runtime

    /// Purges tombstones changed before `now - horizon`; returns how many rows went.
    @discardableResult
    func purge(horizon: Duration = Self.defaultHorizon) async throws -> Int {
        let cutoff = runtime.now() - Int(horizon.components.seconds) * 1000
        defer { headCache.invalidateHeads() }
        return try await database.transaction { db in
            let rows = try await db.select().columns("scope", "seq").from("changes").where("op", .equal, "delete").where(
                "changed_at", .lessThan, cutoff
            )
            .all()
            var newest: [String: Int] = [:]
            for row in rows {
                let scope = try row.decode(column: "scope", as: String.self)
                newest[scope] = max(newest[scope] ?? 0, try row.decode(column: "seq", as: Int.self))
            }
            for (scope, seq) in newest.sorted(by: { $0.key < $1.key }) {
                try await db.raw("UPDATE scope_heads SET purged_seq = \(bind: seq) WHERE scope = \(bind: scope) AND purged_seq < \(bind: seq)").run()
                try await db.delete(from: "changes").where("scope", .equal, scope).where("op", .equal, "delete").where("seq", .lessThanOrEqual, seq)
                    .run()
            }
            return rows.count
        }
    }

    /// Hourly compaction, as a periodic job.
    var job: PeriodicJob {
        PeriodicJob(name: "tombstone compaction", interval: .seconds(3600)) {
            let purged = try await purge()
            return purged > 0 ? "purged \(purged) tombstones" : nil
        }
    }
}
