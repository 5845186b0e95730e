import Foundation
import OneTripAPI
import SQLKit
import SyncCore

/// The clerk workbench: the department's queue and the actions that move cases.
extension APIImplementation {
    func listWorkbenchCases(_ input: Operations.ListWorkbenchCases.Input) async throws -> Operations.ListWorkbenchCases.Output {
        let me = try await authenticate([.clerk])
        guard let department = me.departmentID else { throw AppError.forbidden("This clerk has no department.") }
        let limit = input.query.limit ?? 50
        guard (1...200).contains(limit) else { throw AppError.invalidParameter("limit", "must be between 1 and 200") }
        let query = input.query
        if let matter = query.matter, matter.unicodeScalars.count > 64 { throw AppError.invalidParameter("matter", "at most 64 characters") }
        // A code no matter can have (a NUL, a space) matches nothing, and never reaches the database.
        if let matter = query.matter, !matter.isEmpty, !PathID.isPlausible(matter) { return .ok(.init(body: .json(.init(items: [])))) }
        let today = WorkingCalendar.day(fromMillis: runtime.nowMillis)
        let items = try await cases.departmentQueue(
            department, state: query.state, matterCode: query.matter, overdueOn: query.overdue == true ? today : nil,
            limit: limit)
        let views = items.filter { query.overdue == nil || $0.isOverdue(today: today) == query.overdue }.map { caseFile in
            Components.Schemas.WorkbenchCase(
                _case: caseFile, overdue: caseFile.isOverdue(today: today), brokeOneTripPromise: caseFile.brokeOneTripPromise,
                allowedActions: CaseWorkflow.allowedActions(for: caseFile.state, actorKind: .clerk).map(\.rawValue)
                    + (caseFile.state == .draft ? [] : ["recordVisit"])
            )
        }
        return .ok(.init(body: .json(.init(items: views))))
    }

    func actOnCase(_ input: Operations.ActOnCase.Input) async throws -> Operations.ActOnCase.Output {
        let me = try await authenticate([.clerk])
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let details = CaseActionDetails(
            correctionItems: body.correctionItems ?? [], pendingMaterials: body.pendingMaterials ?? [], pendingDue: body.pendingDue,
            deliveryMethod: body.deliveryMethod.flatMap { DeliveryMethod(rawValue: $0.rawValue) }, trackingNumber: body.trackingNumber
        )
        let id = input.path.id
        guard PathID.isPlausible(id) else { throw AppError.notFound("No case \(id.prefix(128)) in your department's queue.") }
        let updated = try await database.transaction { [cases, runtime] db in
            // Loading locks the case's index row: a second decision on the same case waits and then decides on this one's result.
            guard let current = try await cases.load(id, on: db), current.departmentId == me.departmentID, current.state != .draft else {
                throw AppError.notFound("No case \(id) in your department's queue.")
            }
            let actor = CaseActor(id: me.accountID, kind: .clerk)
            let now = runtime.nowMillis
            let next: Case
            do {
                if body.action == .recordVisit {
                    next = try CaseWorkflow.recordVisit(on: current, by: actor, at: now, note: body.note)
                } else {
                    guard let action = CaseAction(rawValue: body.action.rawValue) else { throw AppError.badRequest("Unknown action.") }
                    next = try CaseWorkflow.perform(
                        action, on: current, by: actor, at: now, note: body.note, details: details, calendar: try await cases.calendar.current(on: db)
                    )
                }
            } catch let rejection as MutationRejection {
                throw AppError(rejection)
            }
            try await ChangeLog.append(try await cases.persist(old: current, new: next, on: db), on: db, now: runtime.now())
            return next
        }
        return .ok(.init(body: .json(updated)))
    }
}
