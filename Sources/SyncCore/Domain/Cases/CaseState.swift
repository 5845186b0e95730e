/// The states of a case (办件) and the one table of moves between them (docs/ARCHITECTURE.md and the domain model). Everything else — the
/// workflow, `allowedActions`, the mutators, the UIs — asks `CaseMoves`; nothing re-states a move elsewhere.

/// Where a case stands.
public enum CaseState: String, Codable, Hashable, Sendable, CaseIterable {
    /// 草稿: being filled in on a phone; only its owner sees it.
    case draft
    /// 已提交 / 待受理: waiting for a clerk's intake check.
    case submitted
    /// 已受理: the promised deadline starts counting in working days.
    case accepted
    /// 容缺受理: accepted with secondary materials still missing, promised by a date (`pendingDue`).
    case acceptedPending = "accepted_pending"
    /// 补正: the clerk listed every missing or faulty item at once (一次性告知); the applicant supplements.
    case correctionRequired = "correction_required"
    /// 不予受理: refused at intake (final).
    case intakeRejected = "intake_rejected"
    /// 审查中: under substantive review.
    case underReview = "under_review"
    /// 中止: review paused (e.g. waiting for an expert opinion); the deadline clock stops.
    case suspended
    /// 待缴费: approved in substance, waiting for the fees to be paid.
    case awaitingPayment = "awaiting_payment"
    /// 准予许可 / 办结: approved; the result waits to be handed over.
    case approved
    /// 不予许可: denied (final).
    case denied
    /// 已送达: the result went out (窗口领取 / 快递送达 / 电子证照).
    case delivered
    /// 已完结: closed; the applicant may now rate it (好差评).
    case completed
    /// 已撤回: withdrawn by the applicant before a decision (final).
    case withdrawn
    /// 终止: a 容缺 case whose missing materials did not arrive by the promised date (final).
    case terminated

    /// Before the decision: the applicant may still withdraw.
    public var isPreDecision: Bool {
        switch self {
        case .draft, .submitted, .accepted, .acceptedPending, .correctionRequired, .underReview, .suspended, .awaitingPayment: true
        case .intakeRejected, .approved, .denied, .delivered, .completed, .withdrawn, .terminated: false
        }
    }

    /// No move leaves this state.
    public var isFinal: Bool {
        switch self {
        case .intakeRejected, .denied, .completed, .withdrawn, .terminated: true
        default: false
        }
    }

    /// The Chinese label an app shows.
    public var label: String {
        switch self {
        case .draft: "草稿"
        case .submitted: "待受理"
        case .accepted: "已受理"
        case .acceptedPending: "容缺受理"
        case .correctionRequired: "待补正"
        case .intakeRejected: "不予受理"
        case .underReview: "审查中"
        case .suspended: "已中止"
        case .awaitingPayment: "待缴费"
        case .approved: "准予许可"
        case .denied: "不予许可"
        case .delivered: "已送达"
        case .completed: "已办结"
        case .withdrawn: "已撤回"
        case .terminated: "已终止"
        }
    }
}

/// What someone does to a case. The raw values are the wire names of the workbench actions (openapi.yaml, `CaseActionRequest`).
public enum CaseAction: String, Codable, Hashable, Sendable, CaseIterable {
    /// 提交申请
    case submit
    /// 受理
    case accept
    /// 容缺受理
    case acceptPending
    /// 一次性告知补正
    case requestCorrection
    /// 不予受理
    case rejectIntake
    /// 补正后重新提交
    case resubmit
    /// 开始审查
    case startReview
    /// 中止审查
    case suspend
    /// 恢复审查
    case resume
    /// 通知缴费
    case requirePayment
    /// 准予许可
    case approve
    /// 不予许可
    case deny
    /// 送达 (window, express or e-license)
    case deliver
    /// 办结
    case complete
    /// 撤回
    case withdraw
    /// 终止 (容缺 materials not supplied by the promised date)
    case terminate
}

/// Who acts on a case.
public enum CaseActorKind: String, Codable, Hashable, Sendable, CaseIterable {
    /// The citizen or enterprise that owns the case.
    case applicant
    /// A clerk of the department handling the matter (窗口 / 审批人员).
    case clerk
    /// The platform itself: scheduled jobs and payment confirmations.
    case system
}

/// One allowed move: from a state, an action by one of `actors`, to a state.
public struct CaseMove: Hashable, Sendable {
    public var from: CaseState
    public var action: CaseAction
    public var to: CaseState
    public var actors: Set<CaseActorKind>

    public init(_ from: CaseState, _ action: CaseAction, _ to: CaseState, by actors: Set<CaseActorKind>) {
        self.from = from
        self.action = action
        self.to = to
        self.actors = actors
    }
}

/// The table of allowed moves — the single source of truth for the case state machine.
public enum CaseMoves {
    /// Every allowed move. Guards that depend on a case's data (a 容缺 due date that has passed, materials still
    /// pending) are checked by `CaseWorkflow`; they can only narrow what this table allows, never widen it.
    public static let all: [CaseMove] = {
        var moves: [CaseMove] = [
            CaseMove(.draft, .submit, .submitted, by: [.applicant]),
            CaseMove(.submitted, .accept, .accepted, by: [.clerk]),
            CaseMove(.submitted, .acceptPending, .acceptedPending, by: [.clerk]),
            CaseMove(.submitted, .requestCorrection, .correctionRequired, by: [.clerk]),
            CaseMove(.submitted, .rejectIntake, .intakeRejected, by: [.clerk]),
            CaseMove(.correctionRequired, .resubmit, .submitted, by: [.applicant]),
            CaseMove(.accepted, .startReview, .underReview, by: [.clerk]),
            CaseMove(.acceptedPending, .startReview, .underReview, by: [.clerk]),
            CaseMove(.underReview, .suspend, .suspended, by: [.clerk]),
            CaseMove(.suspended, .resume, .underReview, by: [.clerk]),
            CaseMove(.underReview, .requirePayment, .awaitingPayment, by: [.clerk]),
            CaseMove(.underReview, .approve, .approved, by: [.clerk]),
            CaseMove(.underReview, .deny, .denied, by: [.clerk]),
            // Once the fees are paid the platform may approve on its own (the payment confirmation is the trigger).
            CaseMove(.awaitingPayment, .approve, .approved, by: [.clerk, .system]),
            CaseMove(.awaitingPayment, .deny, .denied, by: [.clerk]),
            CaseMove(.approved, .deliver, .delivered, by: [.clerk]),
            CaseMove(.delivered, .complete, .completed, by: [.clerk]),
            CaseMove(.acceptedPending, .terminate, .terminated, by: [.system]),
        ]
        for state in CaseState.allCases where state.isPreDecision {
            moves.append(CaseMove(state, .withdraw, .withdrawn, by: [.applicant]))
        }
        return moves
    }()

    private static let index: [Key: CaseMove] = Dictionary(uniqueKeysWithValues: all.map { (Key(from: $0.from, action: $0.action), $0) })

    private struct Key: Hashable {
        var from: CaseState
        var action: CaseAction
    }

    /// The move `action` makes from `state`, or `nil` when the table does not allow it.
    public static func move(from state: CaseState, _ action: CaseAction) -> CaseMove? {
        index[Key(from: state, action: action)]
    }

    /// The actions `actorKind` may take on a case in `state`, in `CaseAction` declaration order.
    public static func actions(from state: CaseState, by actorKind: CaseActorKind) -> [CaseAction] {
        CaseAction.allCases.filter { move(from: state, $0)?.actors.contains(actorKind) == true }
    }
}
