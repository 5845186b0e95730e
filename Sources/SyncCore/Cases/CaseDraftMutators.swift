import Foundation

/// `case.saveDraft`: create a draft, or edit its form. Form fields merge per field by last-writer-wins on the edit's
/// HLC, so two devices editing different fields both keep their edits and the later edit of a field wins everywhere,
/// whatever order the edits arrive in; an empty value clears a field. The matter's facts (name, department, kind,
/// promised days and visits, required materials) come from the catalog entry when the replica holds it — a device
/// cannot promise itself a shorter deadline — and from the arguments otherwise; they are fixed when the draft is
/// created. Reads the case and the matter's catalog entry.
/// Rejections: `invalid_args` (a malformed id or field, or a different matter for an existing draft), `forbidden`
/// (another account's case), `not_draft` (the case was already submitted).
public enum CaseSaveDraft: Mutator {
    public static let name = "case.saveDraft"

    /// The most fields a form may have, and the longest field name and value.
    public static let maxFields = 200
    public static let maxFieldNameLength = 64
    public static let maxFieldValueLength = 4000

    public struct Args: Codable, Sendable, Equatable {
        public var caseId: String
        public var matterCode: String
        public var matterName: String
        public var departmentId: String
        public var kind: MatterKind
        public var promisedDays: Int
        public var promisedVisits: Int
        public var bundleSubmissionId: String?
        public var fields: [String: String]

        public init(
            caseId: String, matterCode: String, matterName: String, departmentId: String, kind: MatterKind, promisedDays: Int, promisedVisits: Int,
            bundleSubmissionId: String? = nil, fields: [String: String]
        ) {
            self.caseId = caseId
            self.matterCode = matterCode
            self.matterName = matterName
            self.departmentId = departmentId
            self.kind = kind
            self.promisedDays = promisedDays
            self.promisedVisits = promisedVisits
            self.bundleSubmissionId = bundleSubmissionId
            self.fields = fields
        }

        /// The arguments for a draft of `matter`, with its facts copied from the catalog.
        public init(caseId: String, matter: Matter, bundleSubmissionId: String? = nil, fields: [String: String]) {
            self.init(
                caseId: caseId, matterCode: matter.code, matterName: matter.name, departmentId: matter.departmentId, kind: matter.kind,
                promisedDays: matter.promisedDays, promisedVisits: matter.onsiteVisits, bundleSubmissionId: bundleSubmissionId, fields: fields
            )
        }
    }

    public static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        [EntityKey(.caseFile, args.caseId), EntityKey(.matter, args.matterCode)]
    }

    public static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        try validate(args)
        let draft: Case
        if let existing = try state.get(Case.self, id: args.caseId) {
            guard existing.accountId == context.accountID else { throw CaseMutation.forbidden(args.caseId) }
            guard existing.state == .draft else {
                throw MutationRejection("not_draft", "The case is no longer a draft (it is \(existing.state.label)); its form can no longer change.")
            }
            guard existing.matterCode == args.matterCode else {
                throw MutationRejection("invalid_args", "matterCode: this draft is for \(existing.matterCode), not \(args.matterCode).")
            }
            draft = existing
        } else {
            var created = try newDraft(args, matter: try CaseMutation.catalogMatter(args.matterCode, in: state), context: context)
            created.timeline.append(
                CaseEvent(at: context.now, actorId: context.accountID, actorKind: .applicant, action: "create", from: nil, to: .draft)
            )
            draft = created
        }
        var merged = draft
        for (field, value) in args.fields {
            var current = merged.form[field]
            if merged.formClocks.assign(field, value.isEmpty ? nil : value, into: &current, at: context.hlc) {
                merged.form[field] = current
            }
        }
        // Every edit older than what the draft holds leaves nothing to write.
        if merged != draft || state.json(EntityKey(.caseFile, args.caseId)) == nil { state.put(merged) }
    }

    private static func newDraft(_ args: Args, matter: Matter?, context: MutationContext) throws(MutationRejection) -> Case {
        guard let matter else {
            guard !args.matterName.isEmpty, !args.departmentId.isEmpty else {
                throw MutationRejection("invalid_args", "matterName and departmentId are required for a new draft.")
            }
            guard args.promisedDays >= 0, (0...1).contains(args.promisedVisits) else {
                throw MutationRejection("invalid_args", "promisedDays must not be negative and promisedVisits is 0 or 1.")
            }
            return Case(
                id: args.caseId, accountId: context.accountID, matterCode: args.matterCode, matterName: args.matterName,
                departmentId: args.departmentId, kind: args.kind, promisedDays: args.kind == .immediate ? 0 : args.promisedDays,
                promisedVisits: args.promisedVisits, bundleSubmissionId: args.bundleSubmissionId
            )
        }
        return Case(
            id: args.caseId, accountId: context.accountID, matterCode: matter.code, matterName: matter.name, departmentId: matter.departmentId,
            kind: matter.kind, promisedDays: matter.kind == .immediate ? 0 : matter.promisedDays, promisedVisits: matter.onsiteVisits,
            bundleSubmissionId: args.bundleSubmissionId, requiredMaterials: matter.materials.filter(\.required).map(\.name)
        )
    }

    static func validate(_ args: Args) throws(MutationRejection) {
        try CaseMutation.validateID(args.caseId, "caseId")
        try CaseMutation.validateID(args.matterCode, "matterCode")
        if let bundle = args.bundleSubmissionId { try CaseMutation.validateID(bundle, "bundleSubmissionId") }
        guard args.fields.count <= maxFields else { throw MutationRejection("invalid_args", "fields: at most \(maxFields).") }
        for (field, value) in args.fields {
            guard (1...maxFieldNameLength).contains(field.count) else {
                throw MutationRejection("invalid_args", "fields: a field name needs 1 to \(maxFieldNameLength) characters.")
            }
            guard value.count <= maxFieldValueLength else {
                throw MutationRejection("invalid_args", "fields.\(field): at most \(maxFieldValueLength) characters.")
            }
        }
    }
}

/// `case.submit`: hand in the materials and submit the draft (draft → submitted). Every required material must be
/// present by name: those the catalog listed when the draft was created (`Case.requiredMaterials`, which a device
/// cannot waive), and those named in the arguments unless `idCardOnly` (仅凭身份证可办) is set.
/// Rejections: `not_found`, `forbidden` (another account's case), `invalid_transition` (not a draft),
/// `invalid_args` (a malformed or duplicated material), `missing_materials` (names every missing one at once).
public enum CaseSubmit: Mutator {
    public static let name = "case.submit"

    public struct Args: Codable, Sendable, Equatable {
        public var caseId: String
        public var materials: [SubmittedMaterial]
        /// The names of the matter's required materials, as the device's catalog lists them.
        public var requiredMaterials: [String]
        /// 仅凭身份证可办: the arguments' `requiredMaterials` are waived.
        public var idCardOnly: Bool

        public init(caseId: String, materials: [SubmittedMaterial], requiredMaterials: [String] = [], idCardOnly: Bool = false) {
            self.caseId = caseId
            self.materials = materials
            self.requiredMaterials = requiredMaterials
            self.idCardOnly = idCardOnly
        }

        private enum CodingKeys: String, CodingKey { case caseId, materials, requiredMaterials, idCardOnly }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            caseId = try container.decode(String.self, forKey: .caseId)
            materials = try container.decodeIfPresent([SubmittedMaterial].self, forKey: .materials) ?? []
            requiredMaterials = try container.decodeIfPresent([String].self, forKey: .requiredMaterials) ?? []
            idCardOnly = try container.decodeIfPresent(Bool.self, forKey: .idCardOnly) ?? false
        }
    }

    public static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        [EntityKey(.caseFile, args.caseId)]
    }

    public static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        let caseFile = try CaseMutation.ownCase(args.caseId, in: state, context: context)
        // Submitting sets no deadline, so no holiday calendar is needed.
        var submitted = try CaseWorkflow.perform(.submit, on: caseFile, by: CaseMutation.applicant(context), at: context.now, calendar: .weekendsOnly)
        let materials = try CaseMutation.validMaterials(args.materials)
        var required = caseFile.requiredMaterials
        if !args.idCardOnly { required += args.requiredMaterials.filter { !required.contains($0) } }
        let present = Set(materials.map(\.name))
        let missing = required.filter { !present.contains($0) }
        guard missing.isEmpty else { throw CaseMutation.missing(missing) }
        submitted.materials = materials
        state.put(submitted)
    }
}

/// What the `case.*` mutators share.
enum CaseMutation {
    /// The case `id`, owned by the mutating account.
    static func ownCase(_ id: String, in state: MutationState, context: MutationContext) throws(MutationRejection) -> Case {
        guard let caseFile = try state.get(Case.self, id: id) else { throw MutationRejection("not_found", "No case has the id '\(id)'.") }
        guard caseFile.accountId == context.accountID else { throw forbidden(id) }
        return caseFile
    }

    static func forbidden(_ id: String) -> MutationRejection {
        MutationRejection("forbidden", "The case '\(id)' belongs to another account.")
    }

    static func missing(_ names: [String]) -> MutationRejection {
        MutationRejection("missing_materials", "Still missing: \(names.joined(separator: "、")).")
    }

    /// The mutating account, acting as the applicant.
    static func applicant(_ context: MutationContext) -> CaseActor { CaseActor(id: context.accountID, kind: .applicant) }

    /// The catalog entry for `code` when the caller loaded it (the server always can; a phone once it synced the
    /// catalog). Decoded from its JSON directly, so this does not depend on how the replica registers catalog types.
    static func catalogMatter(_ code: String, in state: MutationState) throws(MutationRejection) -> Matter? {
        guard let json = state.json(EntityKey(.matter, code)) else { return nil }
        do {
            return try SyncJSON.decoder.decode(Matter.self, from: Data(json))
        } catch {
            throw MutationRejection("corrupt_state", "matter \(code) cannot be read")
        }
    }

    /// Materials that are each well-formed, with distinct names, at most 100.
    static func validMaterials(_ materials: [SubmittedMaterial]) throws(MutationRejection) -> [SubmittedMaterial] {
        guard materials.count <= 100 else { throw MutationRejection("invalid_args", "materials: at most 100.") }
        var names = Set<String>()
        for material in materials {
            if let problem = material.problem { throw MutationRejection("invalid_args", "materials: \(problem)") }
            guard names.insert(material.name).inserted else {
                throw MutationRejection("invalid_args", "materials: \(material.name) is listed twice.")
            }
        }
        return materials
    }

    /// `existing` with `added` put in, a new material replacing an earlier one of the same name.
    static func merge(_ existing: [SubmittedMaterial], _ added: [SubmittedMaterial]) -> [SubmittedMaterial] {
        let addedNames = Set(added.map(\.name))
        return existing.filter { !addedNames.contains($0.name) } + added
    }

    /// Ids travel in keys and URLs: 1 to 128 of letters, digits, `-`, `_`, `.`.
    static func validateID(_ id: String, _ field: String) throws(MutationRejection) {
        guard (1...128).contains(id.utf8.count),
            id.utf8.allSatisfy({ byte in
                (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 45 || byte == 95 || byte == 46
            })
        else { throw MutationRejection("invalid_args", "\(field): 1 to 128 letters, digits, '-', '_' or '.'.") }
    }
}
