import Foundation
import OneTripAPI
import SyncCore

/// A clerk at the window working the department's queue through the workbench routes: accepts most submissions
/// (some go to 补正, 容缺 or are refused), reviews, decides, delivers and completes — racing the applicants'
/// withdrawals, as at a real window.
struct ClerkShift: Sendable {
    let connection: APIConnection
    let department: String
    let world: SwarmWorld

    /// The states a clerk works on, in the order of a shift's rounds.
    private static let rounds: [Components.Schemas.CaseState] = [
        .submitted, .accepted, .acceptedPending, .underReview, .suspended, .approved, .delivered,
    ]

    func run() async {
        var round = 0
        while !world.isOver {
            let state = Self.rounds[round % Self.rounds.count]
            round += 1
            let queue: [Case]
            do {
                queue = try await world.stats.measure("workbench.list") {
                    let output = try await connection.client.listWorkbenchCases(query: .init(state: state, limit: 20))
                    guard case .ok(let ok) = output else { throw CLIError.from(output) }
                    return try ok.body.json.items.map { try Case($0._case) }
                }
            } catch {
                await world.pause(.milliseconds(200))
                continue
            }
            for item in queue.shuffled().prefix(8) where !world.isOver {
                guard let request = decide(item) else { continue }
                do {
                    try await world.stats.measure("workbench.act") {
                        let output = try await connection.client.actOnCase(path: .init(id: item.id), body: .json(request))
                        guard case .ok = output else { throw CLIError.from(output) }
                    }
                    world.stats.count { $0.clerkActions += 1 }
                } catch {}
                await world.pause(.milliseconds(100))
            }
            // Nothing in this state: look at the next one after a moment, as a clerk glancing at the screen would.
            if queue.isEmpty { await world.pause(.milliseconds(500)) }
        }
    }

    /// The clerk's next move on `item`, or nil to leave it (a 容缺 case still owing materials).
    private func decide(_ item: Case) -> Components.Schemas.CaseActionRequest? {
        let roll = Double.random(in: 0..<1)
        switch item.state {
        case .submitted:
            if roll < 0.75 { return .init(action: .accept) }
            if roll < 0.85 {
                let items = Array((item.requiredMaterials.isEmpty ? ["申请表签字页"] : item.requiredMaterials).prefix(2))
                return .init(action: .requestCorrection, note: "请一次性补正", correctionItems: items)
            }
            if roll < 0.93 {
                let due = WorkingCalendar.weekendsOnly.addingWorkingDays(10, to: ChinaTime.today)
                return .init(action: .acceptPending, pendingMaterials: ["户口簿复印件"], pendingDue: due)
            }
            return .init(action: .rejectIntake, note: "不属于本部门受理范围")
        case .accepted:
            if item.promisedVisits == 1 && item.visits == 0 && roll < 0.3 { return .init(action: .recordVisit, note: "现场核验原件") }
            return .init(action: .startReview)
        case .acceptedPending:
            return item.pendingMaterials.isEmpty ? .init(action: .startReview) : nil
        case .underReview:
            if roll < 0.85 { return .init(action: .approve, note: "材料齐全，准予许可") }
            if roll < 0.92 { return .init(action: .suspend, note: "等待现场勘验意见") }
            return .init(action: .deny, note: "不符合法定条件")
        case .suspended:
            return .init(action: .resume)
        case .approved:
            if roll < 0.7 { return .init(action: .deliver, deliveryMethod: .eLicense) }
            if roll < 0.9 {
                return .init(action: .deliver, deliveryMethod: .express, trackingNumber: "EMS\(Int.random(in: 100_000_000...999_999_999))")
            }
            return .init(action: .deliver, deliveryMethod: .window)
        case .delivered:
            return .init(action: .complete)
        default:
            return nil
        }
    }
}
