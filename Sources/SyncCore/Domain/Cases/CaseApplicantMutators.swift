import Foundation

/// `case.withdraw`: the applicant withdraws a case before its decision. Made offline, the intent may lose the race
/// against a clerk's approval: the server then refuses it and the phone rolls its optimistic change back.
/// Rejections: `not_found` (no such case for you), `invalid_transition` (decided or closed already),
/// `invalid_args` (a reason over `CaseWorkflow.maxNoteLength` characters).
public enum CaseWithdraw: Mutator {
    public static let name = "case.withdraw"
    public static let allowedRoles = AccountRole.applicants

    public struct Args: Codable, Sendable, Equatable {
        public var caseId: String
        public var reason: String?

        public init(caseId: String, reason: String? = nil) {
            self.caseId = caseId
            self.reason = reason
        }
    }

    public static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        [EntityKey(.caseFile, args.caseId)]
    }

    public static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        let caseFile = try CaseMutation.ownCase(args.caseId, in: state, context: context)
        // Withdrawing sets no deadline, so no holiday calendar is needed.
        let withdrawn = try CaseWorkflow.perform(
            .withdraw, on: caseFile, by: CaseMutation.applicant(context), at: context.now, note: args.reason, calendar: .weekendsOnly
        )
        state.put(withdrawn)
    }
}

/// `case.supplement`: hand in more materials. Under 补正 (`correction_required`) every listed item must be covered by a
/// material of that name in this one supplement — all at once, as they were requested — and the case is resubmitted.
/// Under 容缺 (`accepted_pending`) the materials are recorded and the pending items they cover are struck off; the
/// case stays put until a clerk starts the review. A late 容缺 supplement is still taken while the case has not
/// been terminated: an offline phone may have made it before the due date.
/// Rejections: `not_found`, `invalid_transition` (any other state), `invalid_args` (no material, a malformed or
/// duplicated one, a file that is not yours, or a case already at its material or event limit), `missing_materials`
/// (补正 items not covered, all named).
public enum CaseSupplement: Mutator {
    public static let name = "case.supplement"
    public static let allowedRoles = AccountRole.applicants

    public typealias Args = CaseMaterialsArgs

    public static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        [EntityKey(.caseFile, args.caseId)] + CaseMutation.materialKeys(args.materials)
    }

    public static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        let caseFile = try CaseMutation.ownCase(args.caseId, in: state, context: context)
        guard caseFile.state == .correctionRequired || caseFile.state == .acceptedPending else {
            throw MutationRejection(.invalidTransition, "\(caseFile.state.rawValue) → supplement: only a case under 补正 or 容缺 takes supplements.")
        }
        let materials = try CaseMutation.validMaterials(args.materials, in: state, context: context)
        guard !materials.isEmpty else { throw .invalid("materials", "supplement at least one") }
        guard CaseMutation.merge(caseFile.materials, materials).count <= CaseMutation.maxMaterials,
            caseFile.timeline.count < CaseMutation.maxTimelineEvents
        else {
            throw .invalid("materials", "the case holds as many materials and events as it may; ask the department to continue at the window")
        }
        let names = Set(materials.map(\.name))

        var next = caseFile
        if caseFile.state == .correctionRequired {
            let uncovered = caseFile.correctionItems.filter { !names.contains($0) }
            guard uncovered.isEmpty else { throw CaseMutation.missing(uncovered) }
            next.materials = CaseMutation.merge(caseFile.materials, materials)
            next = try CaseWorkflow.perform(.resubmit, on: next, by: CaseMutation.applicant(context), at: context.now, calendar: .weekendsOnly)
        } else {
            next.materials = CaseMutation.merge(caseFile.materials, materials)
            next.pendingMaterials = caseFile.pendingMaterials.filter { !names.contains($0) }
            next.timeline.append(
                CaseEvent(
                    at: context.now, actorId: context.accountID, actorKind: .applicant, action: "supplement",
                    note: "补交：\(materials.map(\.name).joined(separator: "、"))"
                )
            )
        }
        state.put(next)
    }
}

/// `case.rate`: the applicant's 好差评 of a completed case — once. Levels 5 非常满意 … 1 非常不满意; a 2 or 1 opens a
/// rectification task on the server (`CaseRating.opensRectification`).
/// Rejections: `not_found`, `not_completed` (not completed yet), `already_rated`,
/// `invalid_args` (level outside 1...5, comment over 500 characters).
public enum CaseRate: Mutator {
    public static let name = "case.rate"
    public static let allowedRoles = AccountRole.applicants
    public static let maxCommentLength = 500

    public struct Args: Codable, Sendable, Equatable {
        public var caseId: String
        public var level: Int
        public var comment: String?

        public init(caseId: String, level: Int, comment: String? = nil) {
            self.caseId = caseId
            self.level = level
            self.comment = comment
        }
    }

    public static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        [EntityKey(.caseFile, args.caseId)]
    }

    public static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        var caseFile = try CaseMutation.ownCase(args.caseId, in: state, context: context)
        guard caseFile.state == .completed else {
            throw MutationRejection(.notCompleted, "Only a completed case can be rated (it is \(caseFile.state.label)).")
        }
        guard caseFile.rating == nil else { throw MutationRejection(.alreadyRated, "The case was rated already; a rating is given once.") }
        guard (1...5).contains(args.level) else { throw MutationRejection(.invalidArgs, "level: 1 (非常不满意) to 5 (非常满意).") }
        let comment = args.comment?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (comment?.count ?? 0) <= maxCommentLength else {
            throw MutationRejection(.invalidArgs, "comment: at most \(maxCommentLength) characters.")
        }
        let rating = CaseRating(level: args.level, comment: comment?.isEmpty == false ? comment : nil, at: context.now)
        caseFile.rating = rating
        caseFile.timeline.append(
            CaseEvent(at: context.now, actorId: context.accountID, actorKind: .applicant, action: "rate", note: rating.label)
        )
        state.put(caseFile)
    }
}
