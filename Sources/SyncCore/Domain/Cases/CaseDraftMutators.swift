import Foundation

/// `case.saveDraft`: create a draft, or edit its form. Form fields merge per field by last-writer-wins on the edit's
/// HLC, so two devices editing different fields both keep their edits and the later edit of a field wins everywhere,
/// whatever order the edits arrive in; an empty value clears a field. The matter's facts (name, department, kind,
/// promised days and visits, required materials) always come from the catalog entry — a device cannot promise itself
/// a shorter deadline or file into another department — and are fixed when the draft is created. Reads the case and
/// the matter's catalog entry.
/// Rejections: `invalid_args` (a malformed id or field, a form past `maxFields`, or a different matter for an existing
/// draft), `unknown_matter` (not in the catalog), `applicant_kind_not_allowed` (the matter is not for this kind of
/// applicant), `id_taken` (another account's case has the id), `not_draft` (the case was already submitted).
public enum CaseSaveDraft: Mutator {
    public static let name = "case.saveDraft"
    public static let allowedRoles = AccountRole.applicants

    /// The most fields a form may have (after merging every edit), and the longest field name and value.
    public static let maxFields = 200
    public static let maxFieldNameLength = 64
    public static let maxFieldValueLength = 4000

    /// What a device sends. Matter facts are not among them: they come from the catalog (older clients sent them;
    /// they are ignored).
    public struct Args: Codable, Sendable, Equatable {
        public var caseId: String
        public var matterCode: String
        public var bundleSubmissionId: String?
        public var fields: [String: String]

        public init(caseId: String, matterCode: String, bundleSubmissionId: String? = nil, fields: [String: String]) {
            self.caseId = caseId
            self.matterCode = matterCode
            self.bundleSubmissionId = bundleSubmissionId
            self.fields = fields
        }

        /// The arguments for a draft of `matter`.
        public init(caseId: String, matter: Matter, bundleSubmissionId: String? = nil, fields: [String: String]) {
            self.init(caseId: caseId, matterCode: matter.code, bundleSubmissionId: bundleSubmissionId, fields: fields)
        }

        private enum CodingKeys: String, CodingKey { case caseId, matterCode, bundleSubmissionId, fields }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            caseId = try container.decode(String.self, forKey: .caseId)
            matterCode = try container.decode(String.self, forKey: .matterCode)
            bundleSubmissionId = try container.decodeIfPresent(String.self, forKey: .bundleSubmissionId)
            fields = try container.decodeIfPresent([String: String].self, forKey: .fields) ?? [:]
        }
    }

    public static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        [EntityKey(.caseFile, args.caseId), EntityKey(.matter, args.matterCode)]
    }

    public static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        try validate(args)
        let draft: Case
        if let existing = try state.get(Case.self, id: args.caseId) {
            guard existing.accountId == context.accountID else {
                throw MutationRejection(
                    .idTaken, "The case id '\(args.caseId)' is taken; choose another.", errors: [.init(pointer: "/caseId", detail: "taken")])
            }
            guard existing.state == .draft else {
                throw MutationRejection(.notDraft, "The case is no longer a draft (it is \(existing.state.label)); its form can no longer change.")
            }
            guard existing.matterCode == args.matterCode else {
                throw .invalid("matterCode", "this draft is for \(existing.matterCode), not \(args.matterCode)")
            }
            draft = existing
        } else {
            guard let matter = try CaseMutation.catalogMatter(args.matterCode, in: state) else {
                throw MutationRejection(
                    .unknownMatter, "No matter in the catalog has the code '\(args.matterCode)'.",
                    errors: [.init(pointer: "/matterCode", detail: "unknown")])
            }
            guard matter.allowedApplicants.contains(context.role) else {
                throw MutationRejection(
                    .applicantKindNotAllowed,
                    "「\(matter.name)」 is for \(matter.allowedApplicants.map(\.rawValue).joined(separator: " or ")) applicants, not \(context.role.rawValue)."
                )
            }
            var created = Case(
                id: args.caseId, accountId: context.accountID, matterCode: matter.code, matterName: matter.name, departmentId: matter.departmentId,
                kind: matter.kind, promisedDays: matter.kind == .immediate ? 0 : min(max(0, matter.promisedDays), Matter.maxDays),
                promisedVisits: matter.onsiteVisits, bundleSubmissionId: args.bundleSubmissionId,
                requiredMaterials: matter.materials.filter(\.required).map(\.name))
            created.timeline.append(
                CaseEvent(at: context.now, actorId: context.accountID, actorKind: .applicant, action: "create", from: nil, to: .draft)
            )
            draft = created
        }
        var merged = draft
        for (field, value) in args.fields.sorted(by: { $0.key < $1.key }) {
            var current = merged.form[field]
            if merged.formClocks.assign(field, value.isEmpty ? nil : value, into: &current, at: context.hlc) {
                merged.form[field] = current
            }
        }
        guard merged.form.count <= maxFields else {
            throw .invalid("fields", "the form would have \(merged.form.count) fields; a form has at most \(maxFields)")
        }
        // Every edit older than what the draft holds leaves nothing to write.
        if merged != draft || state.json(EntityKey(.caseFile, args.caseId)) == nil { state.put(merged) }
    }

    static func validate(_ args: Args) throws(MutationRejection) {
        try CaseMutation.validateID(args.caseId, "caseId")
        try CaseMutation.validateID(args.matterCode, "matterCode")
        if let bundle = args.bundleSubmissionId { try CaseMutation.validateID(bundle, "bundleSubmissionId") }
        guard args.fields.count <= maxFields else { throw .invalid("fields", "at most \(maxFields)") }
        for (field, value) in args.fields {
            guard (1...maxFieldNameLength).contains(field.count) else {
                throw .invalid("fields", "a field name needs 1 to \(maxFieldNameLength) characters")
            }
            guard value.count <= maxFieldValueLength else {
                throw .invalid("fields", "\(field.prefix(64)): at most \(maxFieldValueLength) characters")
            }
        }
    }
}

/// `case.submit`: hand in the materials and submit the draft (draft → submitted). Every material the catalog listed
/// as required when the draft was created (`Case.requiredMaterials`, which a device cannot waive) must be present by
/// name. On the server, every material's file must exist and have been uploaded by the applicant.
/// Rejections: `not_found` (no such case for you), `invalid_transition` (not a draft), `invalid_args` (a malformed or
/// duplicated material, a file that is not yours), `missing_materials` (names every missing one at once).
public enum CaseSubmit: Mutator {
    public static let name = "case.submit"
    public static let allowedRoles = AccountRole.applicants

    public typealias Args = CaseMaterialsArgs

    public static func reads(_ args: Args, context: MutationContext) -> [EntityKey] {
        [EntityKey(.caseFile, args.caseId)] + CaseMutation.materialKeys(args.materials)
    }

    public static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        let caseFile = try CaseMutation.ownCase(args.caseId, in: state, context: context)
        // Submitting sets no deadline, so no holiday calendar is needed.
        var submitted = try CaseWorkflow.perform(.submit, on: caseFile, by: CaseMutation.applicant(context), at: context.now, calendar: .weekendsOnly)
        let materials = try CaseMutation.validMaterials(args.materials, in: state, context: context)
        let present = Set(materials.map(\.name))
        let missing = caseFile.requiredMaterials.filter { !present.contains($0) }
        guard missing.isEmpty else { throw CaseMutation.missing(missing) }
        submitted.materials = materials
        state.put(submitted)
    }
}

/// The arguments of `case.submit` and `case.supplement`: a case and the materials handed in.
public struct CaseMaterialsArgs: Codable, Sendable, Equatable {
    public var caseId: String
    public var materials: [SubmittedMaterial]

    public init(caseId: String, materials: [SubmittedMaterial]) {
        self.caseId = caseId
        self.materials = materials
    }

    private enum CodingKeys: String, CodingKey { case caseId, materials }

    public init(from decoder: any Decoder) throws {
        // Older clients also sent `requiredMaterials` and `idCardOnly` with a submit; the case's own list decides,
        // so they are ignored. No materials is an empty list (a supplement then refuses it by name).
        let container = try decoder.container(keyedBy: CodingKeys.self)
        caseId = try container.decode(String.self, forKey: .caseId)
        materials = try container.decodeIfPresent([SubmittedMaterial].self, forKey: .materials) ?? []
    }
}

/// What the `case.*` mutators share.
enum CaseMutation {
    /// The most materials and timeline events one case keeps (a supplement past them is refused).
    static let maxMaterials = 100
    static let maxTimelineEvents = 500

    /// The case `id`, owned by the mutating account; another account's case is answered as absent.
    static func ownCase(_ id: String, in state: MutationState, context: MutationContext) throws(MutationRejection) -> Case {
        guard let caseFile = try state.get(Case.self, id: id), caseFile.accountId == context.accountID else {
            throw MutationRejection(.notFound, "No case has the id '\(id)'.")
        }
        return caseFile
    }

    /// The keys of what materials cite: uploaded files and e-licenses (the server loads whether the applicant owns
    /// each file and holds each license).
    static func materialKeys(_ materials: [SubmittedMaterial]) -> [EntityKey] {
        let cited = materials.prefix(maxMaterials)
        return cited.compactMap(\.blobSha256).map { EntityKey(.blob, $0) } + cited.compactMap(\.eLicenseId).map { EntityKey(.license, $0) }
    }

    static func missing(_ names: [String]) -> MutationRejection {
        MutationRejection(.missingMaterials, "Still missing: \(names.joined(separator: "、")).")
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
            throw MutationRejection(.corruptState, "matter \(code) cannot be read")
        }
    }

    /// Materials that are each well-formed, with distinct names, at most `maxMaterials`; on the server, each file
    /// must be one the applicant uploaded (`BlobRef` loaded for it), and each e-license one the applicant holds, of the
    /// type named, valid and unexpired (数据跑路: the license replaces a copy only when it proves what the copy would).
    static func validMaterials(_ materials: [SubmittedMaterial], in state: MutationState, context: MutationContext) throws(MutationRejection)
        -> [SubmittedMaterial]
    {
        guard materials.count <= maxMaterials else { throw .invalid("materials", "at most \(maxMaterials)") }
        var names = Set<String>()
        for (index, material) in materials.enumerated() {
            if let problem = material.problem { throw .invalid("materials/\(index)", problem) }
            guard names.insert(material.name).inserted else {
                throw .invalid("materials/\(index)/name", "\(material.name) is listed twice")
            }
            if context.authoritative, let sha = material.blobSha256, try state.get(BlobRef.self, id: sha) == nil {
                throw .invalid("materials/\(index)/blobSha256", "\(material.name): no file with this hash was uploaded by you; upload it first")
            }
            if context.authoritative, let licenseID = material.eLicenseId {
                try checkLicense(licenseID, type: material.eLicenseType, pointer: "materials/\(index)/eLicenseId", in: state, context: context)
            }
        }
        return materials
    }

    private static func checkLicense(
        _ id: String, type: String?, pointer: String, in state: MutationState, context: MutationContext
    ) throws(MutationRejection) {
        guard let license = try state.get(License.self, id: id) else {
            throw MutationRejection(
                .licenseNotHeld, "No license '\(id)' is in your wallet.", errors: [FieldProblem(pointer: "/" + pointer, detail: "not held")])
        }
        guard license.type == type else {
            throw MutationRejection(
                .licenseWrongType, "License '\(id)' is a \(license.typeName) (\(license.type)), not \(type ?? "—").",
                errors: [FieldProblem(pointer: "/" + pointer, detail: "wrong type")])
        }
        guard license.isUsable(at: context.now) else {
            throw MutationRejection(
                .licenseNotUsable, "License '\(id)' is \(license.state.rawValue)\(license.state == .valid ? " but expired" : "").",
                errors: [FieldProblem(pointer: "/" + pointer, detail: "not usable")])
        }
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
        else { throw MutationRejection(.invalidArgs, "\(field): 1 to 128 letters, digits, '-', '_' or '.'.") }
    }
}
