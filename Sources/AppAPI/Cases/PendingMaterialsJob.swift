import Logging
import ServiceLifecycle
import SQLKit
import SyncCore

/// 容缺 cases whose promised materials never arrived are terminated the day after their due date.
struct PendingMaterialsJob: Sendable {
    let database: any Database
    let cases: CaseStore

    /// Terminates every `accepted_pending` case whose due date is before `today`; returns their ids.
    @discardableResult
    func run(now: Int64 = Int64(Clock.nowMillis())) async throws -> [String] {
        let today = WorkingCalendar.day(fromMillis: now)
        let due = try await database.read { db in
            try await db.select().column("id").from("case_index").where("state", .equal, CaseState.acceptedPending.rawValue)
                .where("pending_due", .lessThan, today).all().map { try $0.decode(column: "id", as: String.self) }
        }
        var terminated: [String] = []
        for id in due {
            let done = try await database.transaction { [cases] db -> Bool in
                guard let current = try await cases.load(id, on: db), current.state == .acceptedPending else { return false }
                let next: Case
                do {
                    next = try CaseWorkflow.perform(
                        .terminate, on: current, by: .system, at: now, note: "容缺材料未在承诺日期前补齐", details: .init(), calendar: try await cases.calendar.current(on: db))
                } catch {
                    return false
                }
                try await ChangeLog.append(try await cases.persist(old: current, new: next, on: db), on: db)
                return true
            }
            if done { terminated.append(id) }
        }
        return terminated
    }
}

/// Runs the job hourly while the server is up.
struct PendingMaterialsService: Service {
    let job: PendingMaterialsJob
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let ended = try await job.run()
                if !ended.isEmpty { logger.info("terminated 容缺 cases past their due date", metadata: ["cases": "\(ended)"]) }
            } catch {
                logger.warning("pending-materials job failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}
