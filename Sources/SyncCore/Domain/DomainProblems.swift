/// The problem codes of OneTrip's mutators and workflow (the engine's own are in `ProblemCode`).
extension ProblemCode {
    // Cases
    /// A material cites a license that is not in the applicant's wallet (someone else's, or no such license).
    public static let licenseNotHeld = ProblemCode("license_not_held", .invalid)
    /// A material cites a license of another type than the one it names.
    public static let licenseWrongType = ProblemCode("license_wrong_type", .invalid)
    /// A material cites a license that is revoked, suspended, superseded or expired.
    public static let licenseNotUsable = ProblemCode("license_not_usable", .invalid)
    /// A draft's form was edited after submission.
    public static let notDraft = ProblemCode("not_draft", .conflict)
    /// Required materials are missing (all named at once).
    public static let missingMaterials = ProblemCode("missing_materials", .invalid)
    /// The actor may not make this move (a clerk-only action by an applicant, a clerk acting on their own case).
    public static let forbiddenAction = ProblemCode("forbidden_action", .forbidden)
    /// Only a completed case can be rated.
    public static let notCompleted = ProblemCode("not_completed", .conflict)
    /// A case is rated once.
    public static let alreadyRated = ProblemCode("already_rated", .conflict)
    /// The matter code names no matter in the catalog.
    public static let unknownMatter = ProblemCode("unknown_matter", .invalid)
    /// The matter is not for this kind of applicant (an enterprise applying for an ID card).
    public static let applicantKindNotAllowed = ProblemCode("applicant_kind_not_allowed", .invalid)
    // Appointments
    /// This account holds the slot already.
    public static let alreadyBooked = ProblemCode("already_booked", .conflict)
    /// The slot is full; `alternatives` lists free slots of the same day.
    public static let slotFull = ProblemCode("slot_full", .conflict)
    /// The account holds as many open appointments as it may.
    public static let appointmentLimit = ProblemCode("appointment_limit", .conflict)
}
