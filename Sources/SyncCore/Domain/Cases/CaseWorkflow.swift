import Foundation

/// Someone acting on a case: an account (or `system`) and the capacity it acts in.
public struct CaseActor: Codable, Hashable, Sendable {
    public var id: String
    public var kind: CaseActorKind

    public init(id: String, kind: CaseActorKind) {
        self.id = id
        self.kind = kind
    }

    /// The platform's scheduled jobs and payment confirmations.
    public static let system = CaseActor(id: "system", kind: .system)
}

/// What some actions need besides a note: the items of a 补正 or 容缺, how a result is delivered.
public struct CaseActionDetails: Codable, Hashable, Sendable {
    /// `requestCorrection`: every missing or faulty item (names of materials), at least one.
    public var correctionItems: [String]
    /// `acceptPending`: the secondary materials still owed, at least one.
    public var pendingMaterials: [String]
    /// `acceptPending`: the date (YYYY-MM-DD) they are promised by, after the day of acceptance.
    public var pendingDue: String?
    /// `deliver`: how the result goes out.
    public var deliveryMethod: DeliveryMethod?
    /// `deliver` by express: the courier's tracking number.
    public var trackingNumber: String?

    public init(
        correctionItems: [String] = [], pendingMaterials: [String] = [], pendingDue: String? = nil, deliveryMethod: DeliveryMethod? = nil,
        trackingNumber: String? = nil
    ) {
        self.correctionItems = correctionItems
        self.pendingMaterials = pendingMaterials
        self.pendingDue = pendingDue
        self.deliveryMethod = deliveryMethod
        self.trackingNumber = trackingNumber
    }

    private enum CodingKeys: String, CodingKey { case correctionItems, pendingMaterials, pendingDue, deliveryMethod, trackingNumber }

    public init(from decoder: any Decoder) throws {
        // Every field is optional on the wire, so `{}` means "no details".
        let container = try decoder.container(keyedBy: CodingKeys.self)
        correctionItems = try container.decodeIfPresent([String].self, forKey: .correctionItems) ?? []
        pendingMaterials = try container.decodeIfPresent([String].self, forKey: .pendingMaterials) ?? []
        pendingDue = try container.decodeIfPresent(String.self, forKey: .pendingDue)
        deliveryMethod = try container.decodeIfPresent(DeliveryMethod.self, forKey: .deliveryMethod)
        trackingNumber = try container.decodeIfPresent(String.self, forKey: .trackingNumber)
    }
}

/// The case state machine as pure functions: server (authoritative) and phone (optimistic) run the same moves.
/// Rejection codes: `invalid_transition` (the table does not allow the move now), `forbidden_action` (the actor may
/// not make it), `invalid_args` (a detail is missing or malformed), `missing_materials` (容缺 items still owed).
public enum CaseWorkflow {
    /// The longest note (reason, comment) a move keeps; the contract states the same bound.
    public static let maxNoteLength = 500
    /// The most items a 补正 or 容缺 list may have.
    public static let maxItems = 50

    /// The actions `actorKind` may take on a case in `state`, for UIs. A listed action may still be refused for its
    /// details (a 容缺 due date not yet passed, an empty correction list).
    public static func allowedActions(for state: CaseState, actorKind: CaseActorKind) -> [CaseAction] {
        CaseMoves.actions(from: state, by: actorKind)
    }

    /// Makes `action` on `caseFile` and returns the moved case with one new timeline event, or refuses.
    /// `at` is the applying side's clock; days (acceptance, deadline, suspension) are its China-time dates.
    /// Materials are the mutators' business: `case.supplement` checks a 补正 is covered before it resubmits.
    public static func perform(
        _ action: CaseAction, on caseFile: Case, by actor: CaseActor, at millis: Int64, note: String? = nil,
        details: CaseActionDetails = CaseActionDetails(), calendar: WorkingCalendar
    ) throws(MutationRejection) -> Case {
        let from = caseFile.state
        guard let move = CaseMoves.move(from: from, action) else {
            throw MutationRejection(.invalidTransition, "\(from.rawValue) → \(action.rawValue) is not an allowed move (the case is \(from.label)).")
        }
        guard move.actors.contains(actor.kind) else {
            throw MutationRejection(
                .forbiddenAction,
                "\(action.rawValue) is for \(move.actors.map(\.rawValue).sorted().joined(separator: " or ")), not \(actor.kind.rawValue).")
        }
        if actor.kind == .applicant && actor.id != caseFile.accountId {
            throw MutationRejection(.forbiddenAction, "Only the applicant who owns the case may \(action.rawValue) it.")
        }
        if actor.kind == .clerk && actor.id == caseFile.accountId {
            throw MutationRejection(.forbiddenAction, "A clerk does not decide their own case.")
        }
        let note = try cleanNote(note)
        let today = calendar.day(fromMillis: millis)
        var next = caseFile
        var eventNote = note

        switch action {
        case .submit:
            next.submittedAt = millis
        case .resubmit:
            next.submittedAt = millis
            eventNote = note ?? summary("补正材料", caseFile.correctionItems)
            next.correctionItems = []
        case .requestCorrection:
            let items = try itemList(details.correctionItems, "correctionItems")
            next.correctionItems = items
            eventNote = note ?? summary("需补正", items)
        case .rejectIntake:
            next.decisionNote = try reason(note, for: action)
        case .suspend:
            _ = try reason(note, for: action)
            next.suspendedSince = today
        case .deny:
            next.decisionNote = try reason(note, for: action)
            next.decidedAt = millis
        case .accept:
            accept(&next, on: today, at: millis, calendar: calendar)
        case .acceptPending:
            let items = try itemList(details.pendingMaterials, "pendingMaterials")
            guard let due = details.pendingDue, WorkingCalendar.isValidDay(due) else {
                throw MutationRejection(.invalidArgs, "pendingDue: the YYYY-MM-DD date the missing materials are promised by.")
            }
            guard due > today else { throw MutationRejection(.invalidArgs, "pendingDue: \(due) must be after the day of acceptance (\(today)).") }
            next.pendingMaterials = items
            next.pendingDue = due
            accept(&next, on: today, at: millis, calendar: calendar)
            eventNote = note ?? summary("容缺，\(due)前补齐", items)
        case .startReview:
            if from == .acceptedPending && !caseFile.pendingMaterials.isEmpty {
                throw MutationRejection(.missingMaterials, "Still owed under 容缺: \(caseFile.pendingMaterials.joined(separator: "、")).")
            }
        case .resume:
            // The days in (suspendedSince, today] were not the office's: they extend the deadline one for one.
            let paused = caseFile.suspendedSince.flatMap { calendar.workingDays(from: $0, to: today) }.map { max(0, $0) } ?? 0
            next.suspendedWorkingDays += paused
            if paused > 0, let deadline = caseFile.deadline { next.deadline = calendar.addingWorkingDays(paused, to: deadline) ?? deadline }
        case .requirePayment:
            break
        case .approve:
            next.decidedAt = millis
            next.decisionNote = note
        case .deliver:
            guard let method = details.deliveryMethod else {
                throw MutationRejection(.invalidArgs, "deliveryMethod: window, express or e_license.")
            }
            var delivery = CaseDelivery(method: method)
            if method == .express {
                guard let tracking = details.trackingNumber?.trimmingCharacters(in: .whitespaces), (1...64).contains(tracking.count) else {
                    throw MutationRejection(.invalidArgs, "trackingNumber: express delivery needs the courier's tracking number.")
                }
                delivery.trackingNumber = tracking
            }
            next.delivery = delivery
            next.deliveredAt = millis
        case .complete:
            next.completedAt = millis
        case .withdraw:
            break
        case .terminate:
            guard let due = caseFile.pendingDue, today > due else {
                throw MutationRejection(
                    .invalidTransition,
                    "accepted_pending → terminate: the promised date \(caseFile.pendingDue ?? "?") has not passed (today is \(today)).")
            }
            guard !caseFile.pendingMaterials.isEmpty else {
                throw MutationRejection(.invalidTransition, "accepted_pending → terminate: every pending material was supplied.")
            }
            eventNote = note ?? summary("逾期未补齐（\(due)）", caseFile.pendingMaterials)
        }

        next.state = move.to
        if move.to != .suspended { next.suspendedSince = nil }
        next.timeline.append(
            CaseEvent(at: millis, actorId: actor.id, actorKind: actor.kind, action: action.rawValue, from: from, to: move.to, note: eventNote))
        return next
    }

    /// Records an on-site visit (到现场) by a clerk: counts it and notes it in the timeline, moving nothing.
    /// Rejections: `forbidden_action` (not a clerk), `invalid_transition` (a draft, which no clerk can see).
    public static func recordVisit(on caseFile: Case, by actor: CaseActor, at millis: Int64, note: String? = nil) throws(MutationRejection) -> Case {
        guard actor.kind == .clerk else { throw MutationRejection(.forbiddenAction, "Visits are recorded by clerks.") }
        guard actor.id != caseFile.accountId else { throw MutationRejection(.forbiddenAction, "A clerk does not record visits on their own case.") }
        guard caseFile.state != .draft else { throw MutationRejection(.invalidTransition, "draft → recordVisit: the case has not been submitted.") }
        var next = caseFile
        next.visits += 1
        next.timeline.append(CaseEvent(at: millis, actorId: actor.id, actorKind: actor.kind, action: "recordVisit", note: try cleanNote(note)))
        return next
    }

    // MARK: Helpers shared with the mutators

    /// Sets the acceptance time and the promised deadline (即办件: the day of acceptance, or the next working day).
    private static func accept(_ caseFile: inout Case, on today: String, at millis: Int64, calendar: WorkingCalendar) {
        let days = caseFile.kind == .immediate ? 0 : max(0, caseFile.promisedDays)
        caseFile.acceptedAt = millis
        caseFile.deadline = calendar.addingWorkingDays(min(days, WorkingCalendar.maxWorkingDays), to: today)
    }

    /// The reason an applicant is owed (不予受理, 不予许可 and 中止 are explained in writing); `invalid_args` without one.
    private static func reason(_ note: String?, for action: CaseAction) throws(MutationRejection) -> String {
        guard let note else { throw MutationRejection(.invalidArgs, "\(action.rawValue) needs a note giving the reason.") }
        return note
    }

    /// A trimmed note, `nil` when blank; `invalid_args` when too long.
    static func cleanNote(_ note: String?) throws(MutationRejection) -> String? {
        guard let trimmed = note?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
        guard trimmed.count <= maxNoteLength else { throw MutationRejection(.invalidArgs, "note: at most \(maxNoteLength) characters.") }
        return trimmed
    }

    /// Trimmed, de-duplicated items (first occurrence kept); `invalid_args` when empty, blank or too many.
    static func itemList(_ items: [String], _ field: String) throws(MutationRejection) -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        for item in items {
            let trimmed = item.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, trimmed.count <= 100 else {
                throw MutationRejection(.invalidArgs, "\(field): every item needs 1 to 100 characters.")
            }
            if seen.insert(trimmed).inserted { result.append(trimmed) }
        }
        guard !result.isEmpty else { throw MutationRejection(.invalidArgs, "\(field): list at least one item.") }
        guard result.count <= maxItems else { throw MutationRejection(.invalidArgs, "\(field): at most \(maxItems) items.") }
        return result
    }

    private static func summary(_ title: String, _ items: [String]) -> String? {
        items.isEmpty ? nil : "\(title)：\(items.joined(separator: "、"))"
    }
}
