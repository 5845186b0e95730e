import Crypto
import Foundation
import SyncCore

/// The seed set in `seeds/`: the catalog and demo data, read and cross-checked before anything is written.
struct SeedFiles: Sendable {
    /// The catalog, its holiday calendar included.
    var catalog: CatalogContent
    /// SHA-256 over every file, so a changed seed set is noticed and re-applied.
    var checksum: String

    static let catalogFiles = [
        "departments.json", "license-types.json", "fee-items.json", "matters.json", "bundles.json", "service-centers.json", "faq.json",
        "holidays.json",
    ]

    /// Reads and validates the seed set in `directory`.
    static func load(from directory: URL) throws -> SeedFiles {
        var hasher = SHA256()
        func read<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
            let url = directory.appendingPathComponent(name)
            let data: Data
            do {
                data = try Data(contentsOf: url)
            } catch {
                throw SeedError(problems: ["cannot read \(url.path): \(error.localizedDescription)"])
            }
            hasher.update(data: data)
            do {
                return try JSONDecoder().decode(T.self, from: data)
            } catch {
                throw SeedError(problems: ["\(name): \(error)"])
            }
        }
        var catalog = CatalogContent()
        catalog.departments = try read("departments.json", as: [Department].self)
        catalog.licenseTypes = try read("license-types.json", as: [LicenseType].self)
        catalog.feeItems = try read("fee-items.json", as: [FeeItem].self)
        catalog.matters = try read("matters.json", as: [Matter].self)
        catalog.bundles = try read("bundles.json", as: [MatterBundle].self)
        catalog.serviceCenters = try read("service-centers.json", as: [ServiceCenter].self)
        catalog.faq = try read("faq.json", as: [FAQEntry].self)
        catalog.holidays = try read("holidays.json", as: HolidayCalendar.self)
        let checksum = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        let files = SeedFiles(catalog: catalog, checksum: checksum)
        let problems = files.catalog.consistencyProblems()
        guard problems.isEmpty else { throw SeedError(problems: problems) }
        return files
    }

    /// Finds `seeds/`: `APPAPI_SEEDS_DIR`, then `./seeds`, then the source checkout this binary was built from.
    static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let explicit = environment["APPAPI_SEEDS_DIR"], !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        let local = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("seeds")
        if FileManager.default.fileExists(atPath: local.appendingPathComponent("matters.json").path) { return local }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("seeds")
    }
}

/// A seed set that is unreadable or inconsistent; every problem is listed at once.
struct SeedError: Error, CustomStringConvertible {
    let problems: [String]
    var description: String { "seed data is invalid:\n  - " + problems.joined(separator: "\n  - ") }
}

extension CatalogContent {
    /// Cross-reference and field problems; empty when the catalog is consistent.
    func consistencyProblems() -> [String] {
        var problems: [String] = []
        func duplicates(_ ids: [String], _ what: String) {
            var seen = Set<String>()
            for id in ids where !seen.insert(id).inserted { problems.append("duplicate \(what) \(id)") }
        }
        duplicates(departments.map(\.id), "department")
        duplicates(licenseTypes.map(\.code), "license type")
        duplicates(feeItems.map(\.code), "fee item")
        duplicates(matters.map(\.code), "matter")
        duplicates(bundles.map(\.code), "bundle")
        duplicates(serviceCenters.map(\.id), "service centre")
        duplicates(faq.map(\.id), "FAQ entry")
        let departmentIDs = Set(departments.map(\.id))
        problems += holidays?.validationProblems ?? []
        for center in serviceCenters {
            for department in center.weekendServices ?? [] where !departmentIDs.contains(department) {
                problems.append("service centre \(center.id): weekend service of unknown department \(department)")
            }
        }
        let licenseCodes = Set(licenseTypes.map(\.code))
        let feeCodes = Set(feeItems.map(\.code))
        let matterCodes = Set(matters.map(\.code))
        for item in feeItems where !departmentIDs.contains(item.departmentId) {
            problems.append("fee item \(item.code): unknown department \(item.departmentId)")
        }
        for item in feeItems { problems += item.validationProblems.map { "fee item \(item.code): \($0)" } }
        duplicates(licenseTypes.map(\.vct), "license vct")
        for department in departments {
            if let code = department.creditCode, (try? CreditCode(code)) == nil {
                problems.append("department \(department.id): credit code \(code) is not a valid unified social credit code")
            }
        }
        for type in licenseTypes {
            if !departmentIDs.contains(type.departmentId) { problems.append("license type \(type.code): unknown department \(type.departmentId)") }
            problems += type.validationProblems.map { "license type \(type.code): \($0)" }
        }
        let issuedOnApproval = Set(licenseTypes.filter { $0.issuance == .onApproval }.map(\.code))
        for matter in matters {
            if !departmentIDs.contains(matter.departmentId) { problems.append("matter \(matter.code): unknown department \(matter.departmentId)") }
            for fee in matter.feeItemCodes where !feeCodes.contains(fee) { problems.append("matter \(matter.code): unknown fee item \(fee)") }
            for material in matter.materials {
                if let type = material.eLicenseType, !licenseCodes.contains(type) {
                    problems.append("matter \(matter.code): material '\(material.name)' names unknown license type \(type)")
                }
            }
            if let type = matter.resultLicenseType, !licenseCodes.contains(type) {
                problems.append("matter \(matter.code): unknown result license type \(type)")
            } else if let type = matter.resultLicenseType, !issuedOnApproval.contains(type) {
                problems.append("matter \(matter.code): result license type \(type) is not issued when a case is approved")
            }
            for type in (matter.supersedesLicenseTypes ?? []) + (matter.revokesLicenseTypes ?? []) where !licenseCodes.contains(type) {
                problems.append("matter \(matter.code): supersedes or revokes unknown license type \(type)")
            }
            problems += matter.validationProblems.map { "matter \(matter.code): \($0)" }
        }
        for bundle in bundles {
            if bundle.matterCodes.count < 2 { problems.append("bundle \(bundle.code): needs at least two matters") }
            for code in bundle.matterCodes where !matterCodes.contains(code) { problems.append("bundle \(bundle.code): unknown matter \(code)") }
        }
        for entry in faq {
            for code in entry.matterCodes ?? [] where !matterCodes.contains(code) { problems.append("FAQ \(entry.id): unknown matter \(code)") }
        }
        return problems
    }
}
