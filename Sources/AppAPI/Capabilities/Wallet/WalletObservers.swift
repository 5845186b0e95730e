import Foundation
import SQLKit
import SyncCore

/// Issues the matter's result license into the applicant's wallet when a case is approved, in the approval's own
/// transaction, and supersedes or revokes the applicant's licenses the matter replaces or voids
/// (`supersedesLicenseTypes`, `revokesLicenseTypes`). Types issued elsewhere (`on_payment`: e-receipts;
/// `external`) are left to their issuer.
///
/// Which licenses an approval replaces: those of the named types the case cites as materials; when it cites none,
/// the holder's only license of the type. A holder with several (two flats' 不动产权证书) and none cited keeps them
/// all: voiding the wrong certificate is worse than leaving one for the clerk to revoke.
struct LicenseIssuer: CaseObserver {
    let licenses: LicenseStore

    func caseChanged(from old: Case?, to new: Case, calendar: WorkingCalendar, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        guard new.state == .approved, old?.state != .approved,
            let matter = try await ChangeLog.entity(Matter.self, id: new.matterCode, in: .public, on: db)
        else { return [] }
        let replaces = matter.supersedesLicenseTypes ?? []
        let revokes = matter.revokesLicenseTypes ?? []
        guard matter.resultLicenseType != nil || !replaces.isEmpty || !revokes.isEmpty else { return [] }
        // One holder's issuances and supersessions happen one at a time, so two approvals never both keep "the" card.
        try await ChangeLog.lock(.user(new.accountId), on: db)
        var records: [ChangeRecord] = []
        var issued: License?
        if let code = matter.resultLicenseType, let type = try await ChangeLog.entity(LicenseType.self, id: code, in: .public, on: db),
            type.issuance == .onApproval
        {
            let department = try await ChangeLog.entity(Department.self, id: type.departmentId, in: .public, on: db)
            if let result = try await licenses.issue(
                .init(type: type, department: department, accountID: new.accountId, caseID: new.id, form: new.form), on: db)
            {
                issued = result.license
                records += result.records
            }
        }
        let cited = Set(new.materials.compactMap(\.eLicenseId))
        for (types, state) in [(replaces, issued == nil ? License.State.revoked : .superseded), (revokes, .revoked)] {
            for id in try await targets(of: types, holder: new.accountId, cited: cited, besides: issued?.id, on: db) {
                if let change = try await licenses.changeStateIfHeld(id, to: state, supersededBy: state == .superseded ? issued?.id : nil, on: db) {
                    records += change.records
                }
            }
        }
        if let issued {
            let message = Message(
                id: "msg_license_\(issued.id)", title: "电子证照已发放：\(issued.typeName)",
                body: "您的「\(new.matterName)」已办结，\(issued.typeName)已存入您的证照夹，可在办事时出示，无需再提交复印件。", category: "license",
                subjectID: issued.id, createdAt: Int64(licenses.runtime.now()))
            records.append(try .upsert(message, in: .user(new.accountId)))
        }
        return records
    }

    /// Per type: the cited licenses of it, else the holder's only one.
    private func targets(of types: [String], holder: String, cited: Set<String>, besides issued: String?, on db: any SQLDatabase) async throws
        -> [String]
    {
        var targets: [String] = []
        for type in Set(types).sorted() {
            let held = try await licenses.heldLicenses(of: holder, types: [type], on: db).filter { $0 != issued }
            let citedOfType = held.filter(cited.contains)
            targets += !citedOfType.isEmpty ? citedOfType : (held.count == 1 ? held : [])
        }
        return targets
    }
}

/// Writes every use of a license as a case material into its holder's access log, with the department that
/// received it.
struct LicenseUseLog: CaseObserver {
    let accessLog: WalletAccessLog

    func caseChanged(from old: Case?, to new: Case, calendar: WorkingCalendar, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        let before = Set((old?.materials ?? []).compactMap(\.eLicenseId))
        let cited = new.materials.filter { $0.eLicenseId.map { !before.contains($0) } ?? false }
        guard !cited.isEmpty, new.state != .draft else { return [] }
        let department = try await ChangeLog.entity(Department.self, id: new.departmentId, in: .public, on: db)
        var records: [ChangeRecord] = []
        for material in cited {
            guard let licenseID = material.eLicenseId else { continue }
            records.append(
                try await accessLog.record(
                    licenseID: licenseID, holder: new.accountId, action: .usedAsMaterial, party: department?.name ?? new.departmentId, fields: [],
                    caseID: new.id, on: db))
        }
        return records
    }
}
