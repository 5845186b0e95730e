import Logging
import SQLKit
import SyncCore

/// 容缺 cases whose promised materials never arrived are terminated the day after their due date.
struct PendingMaterialsJob: Sendable {
    let database: any Database
    let cases: CaseStore
    let runtime: Runtime

    /// Terminates every `accepted_pending` case whose due date is before today; returns their ids.
    @discardableResult
    func run() async throws -> [String] {
        let now = runtime.nowMillis
        let today = WorkingCalendar.day(fromMillis: now)
        let due = try await database.read { db in
            try await db.select().column("id").from("case_index").where("state", .equal, CaseState.acceptedPending.rawValue)
                .where("pending_due", .lessThan, today).all().map { try $0.decode(column: "id", as: String.self) }
        }
        var terminated: [String] = []
        for id in due {
            let done = try await database.transaction { [cases, runtime] db -> Bool in
                guard let current = try await cases.load(id, on: db), current.state == .acceptedPending else { return false }
                let next: Case
                do {
                    next = try CaseWorkflow.perform(
                        .terminate, on: current, by: .system, at: now, note: "容缺材料未在承诺日期前补齐", details: .init(),
                        calendar: try await cases.calendar.current(on: db))
                } catch {
                    return false
                }
                try await ChangeLog.append(try await cases.persist(old: current, new: next, on: db), on: db, now: runtime.now())
                return true
            }
            if done { terminated.append(id) }
        }
        return terminated
    }

    /// Hourly, as a periodic job.
    var job: PeriodicJob {
        PeriodicJob(name: "容缺 terminations", interval: .seconds(3600)) {
            let ended = try await run()
            return ended.isEmpty ? nil : "terminated \(ended.count) 容缺 cases past their due date: \(ended.joined(separator: ", "))"
        }
    }
}
