import Foundation

/// A case (办件): one application by one account for one matter, from draft to rating. It lives in its owner's
/// `user:` scope (and the handling department's `dept:` scope). Only the draft form merges from devices, per field
/// by last-writer-wins; every other field is changed through `CaseWorkflow` and the `case.*` mutators.
public struct Case: SyncEntity, Hashable {
    public static let entityType: EntityType = .caseFile

    public var id: String
    /// The applicant's account; only it may act on the case as applicant.
    public var accountId: String
    public var matterCode: String
    public var matterName: String
    public var departmentId: String
    /// 即办件 (decided the day it is accepted) or 承诺件.
    public var kind: MatterKind
    /// 承诺办结时限 in working days from acceptance (0 for 即办件).
    public var promisedDays: Int
    /// The matter's 到办事现场次数 (0 or 1): the visits the "at most one trip" promise allows.
    public var promisedVisits: Int
    /// The 一件事 submission this case was fanned out from.
    public var bundleSubmissionId: String?
    /// The names of the matter's required materials, copied from the catalog when the draft was created (empty when
    /// the creating side had no catalog entry, and for 仅凭身份证可办 matters), so `case.submit` can check them.
    public var requiredMaterials: [String]
    public var state: CaseState

    /// The application form, edited offline on several devices; an empty value clears a field.
    public var form: [String: String]
    /// The HLC of the last edit of each form field.
    public var formClocks: FieldClocks
    /// What the applicant handed in.
    public var materials: [SubmittedMaterial]
    /// 补正: every missing or faulty item, listed at once; cleared when the case is resubmitted.
    public var correctionItems: [String]
    /// 容缺: the secondary materials still owed; shrinks as they are supplemented.
    public var pendingMaterials: [String]
    /// 容缺: the date (YYYY-MM-DD, China time) by which `pendingMaterials` were promised.
    public var pendingDue: String?

    public var submittedAt: Int64?
    public var acceptedAt: Int64?
    public var decidedAt: Int64?
    public var deliveredAt: Int64?
    public var completedAt: Int64?
    /// The promised deadline (YYYY-MM-DD): `promisedDays` working days after acceptance, pushed out by suspensions.
    public var deadline: String?
    /// The day the current 中止 began; `nil` unless suspended.
    public var suspendedSince: String?
    /// Working days spent suspended so far, all suspensions together.
    public var suspendedWorkingDays: Int
    public var delivery: CaseDelivery?
    /// On-site visits (到现场次数) recorded by clerks.
    public var visits: Int
    public var rating: CaseRating?
    /// Every move and notable event, oldest first.
    public var timeline: [CaseEvent]
    /// The reasons given with the decision or the intake refusal (approval conditions, grounds for 不予受理/不予许可).
    public var decisionNote: String?

    /// A new draft: no materials, no timeline.
    public init(
        id: String, accountId: String, matterCode: String, matterName: String, departmentId: String, kind: MatterKind, promisedDays: Int,
        promisedVisits: Int, bundleSubmissionId: String? = nil, requiredMaterials: [String] = []
    ) {
        self.id = id
        self.accountId = accountId
        self.matterCode = matterCode
        self.matterName = matterName
        self.departmentId = departmentId
        self.kind = kind
        self.promisedDays = promisedDays
        self.promisedVisits = promisedVisits
        self.bundleSubmissionId = bundleSubmissionId
        self.requiredMaterials = requiredMaterials
        self.state = .draft
        self.form = [:]
        self.formClocks = FieldClocks()
        self.materials = []
        self.correctionItems = []
        self.pendingMaterials = []
        self.suspendedWorkingDays = 0
        self.visits = 0
        self.timeline = []
    }

    /// States in which the promised deadline is running. A suspended case's clock is paused (its deadline moves on
    /// resume); a decided case met or missed its deadline already; a case not yet accepted has no deadline.
    /// `awaitingPayment` counts: the domain model pauses the clock for suspension only.
    public static let deadlineRunningStates: Set<CaseState> = [.accepted, .acceptedPending, .underReview, .awaitingPayment]

    /// Whether the case is past its promised deadline on `today` (YYYY-MM-DD, China time): its deadline clock is
    /// running (`deadlineRunningStates`) and `today` is after the deadline — the deadline day itself is on time.
    public func isOverdue(today: String) -> Bool {
        guard Self.deadlineRunningStates.contains(state), let deadline else { return false }
        return today > deadline  // YYYY-MM-DD strings order like the dates they name
    }

    /// Whether the applicant had to come more often than the matter promises (跑了不止承诺的次数). A matter promising
    /// 0 visits (全程网办 or delivered) is broken by the first visit; one promising 1 by the second. Not
    /// `visits > max(promisedVisits, 1)`: that would excuse a visit to a matter that promised none.
    public var brokeOneTripPromise: Bool { visits > promisedVisits }

    /// The submitted material with `name`, if any.
    public func material(named name: String) -> SubmittedMaterial? { materials.first { $0.name == name } }
}

/// A material as handed in: an uploaded file (by content hash), an e-license used in its place, or paper at the window.
public struct SubmittedMaterial: Codable, Hashable, Sendable {
    /// The matter's material name it answers, e.g. `不动产权证书`.
    public var name: String
    /// SHA-256 (lower-case hex) of the uploaded file in the blob store.
    public var blobSha256: String?
    /// The e-license type used instead of a copy (数据跑路代替群众跑腿).
    public var eLicenseType: String?
    public var eLicenseId: String?
    /// To be handed in on paper at the window.
    public var paper: Bool

    public init(name: String, blobSha256: String? = nil, eLicenseType: String? = nil, eLicenseId: String? = nil, paper: Bool = false) {
        self.name = name
        self.blobSha256 = blobSha256
        self.eLicenseType = eLicenseType
        self.eLicenseId = eLicenseId
        self.paper = paper
    }

    /// Why this material cannot be accepted, or `nil` when it is well-formed.
    public var problem: String? {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed != name || name.count > 100 { return "a material needs a name of 1 to 100 characters without outer spaces" }
        if let sha = blobSha256, sha.utf8.count != 64 || !sha.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) {
            return "\(name): blobSha256 must be 64 lower-case hex digits"
        }
        if (eLicenseType == nil) != (eLicenseId == nil) { return "\(name): an e-license needs both its type and its id" }
        if let id = eLicenseId, id.isEmpty || id.count > 200 { return "\(name): eLicenseId must be 1 to 200 characters" }
        if blobSha256 == nil && eLicenseId == nil && !paper { return "\(name): give a file, an e-license or paper" }
        return nil
    }
}

/// How a result is handed over (送达方式).
public enum DeliveryMethod: String, Codable, Hashable, Sendable, CaseIterable {
    /// 窗口领取: collected at the window (an on-site visit).
    case window
    /// 快递送达 (EMS), with a tracking number.
    case express
    /// 电子证照: issued into the applicant's wallet.
    case eLicense = "e_license"
}

/// How and where the result went.
public struct CaseDelivery: Codable, Hashable, Sendable {
    public var method: DeliveryMethod
    public var trackingNumber: String?

    public init(method: DeliveryMethod, trackingNumber: String? = nil) {
        self.method = method
        self.trackingNumber = trackingNumber
    }
}

/// The applicant's 好差评 rating of a completed case.
public struct CaseRating: Codable, Hashable, Sendable {
    /// Working days within which a 不满意 or 非常不满意 rating must be rectified (整改).
    public static let rectificationWorkingDays = 15

    /// 5 = 非常满意, 4 = 满意, 3 = 基本满意, 2 = 不满意, 1 = 非常不满意.
    public var level: Int
    public var comment: String?
    /// When it was given (milliseconds since 1970).
    public var at: Int64

    public init(level: Int, comment: String? = nil, at: Int64) {
        self.level = level
        self.comment = comment
        self.at = at
    }

    /// The Chinese label of `level`.
    public var label: String {
        switch level {
        case 5: "非常满意"
        case 4: "满意"
        case 3: "基本满意"
        case 2: "不满意"
        default: "非常不满意"
        }
    }

    /// A 差评 (不满意 or 非常不满意) opens a rectification task due in `rectificationWorkingDays` working days.
    public var opensRectification: Bool { level <= 2 }
}

/// One entry of a case's timeline: who did what, when, and why.
public struct CaseEvent: Codable, Hashable, Sendable {
    /// Milliseconds since 1970.
    public var at: Int64
    public var actorId: String
    public var actorKind: CaseActorKind
    /// A `CaseAction` raw value, or an event that moves nothing: `create`, `recordVisit`, `supplement`, `rate`.
    public var action: String
    /// The state before and after a move (`from` is `nil` for `create`); both `nil` for an event that moves nothing.
    public var from: CaseState?
    public var to: CaseState?
    public var note: String?

    public init(
        at: Int64, actorId: String, actorKind: CaseActorKind, action: String, from: CaseState? = nil, to: CaseState? = nil, note: String? = nil
    ) {
        self.at = at
        self.actorId = actorId
        self.actorKind = actorKind
        self.action = action
        self.from = from
        self.to = to
        self.note = note
    }
}
