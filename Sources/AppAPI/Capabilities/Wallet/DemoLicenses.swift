import Crypto
import Foundation
import SyncCore

/// The licenses demo accounts already hold when a dev server starts (`seeds/demo-licenses.json`): issued before
/// OneTrip, so the wallet has something to show and cite from the first login. Each entry is validated against its
/// type (every field declared, none missing) and issued once: its id is derived from holder and type.
enum DemoLicenses {
    struct Entry: Decodable, Sendable {
        var holder: String
        var type: String
        var issuedOn: String
        var fields: [String: String]
    }

    static func entries(from seedsDirectory: URL) throws -> [Entry] {
        let url = seedsDirectory.appendingPathComponent("demo-licenses.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try JSONDecoder().decode([Entry].self, from: Data(contentsOf: url))
    }

    /// What is wrong with the entries, given the license types and the holders that exist.
    static func problems(_ entries: [Entry], types: [LicenseType], holders: Set<String>) -> [String] {
        let byCode = Dictionary(uniqueKeysWithValues: types.map { ($0.code, $0) })
        var problems: [String] = []
        for entry in entries {
            let label = "demo license \(entry.type) of \(entry.holder)"
            guard let type = byCode[entry.type] else {
                problems.append("\(label): unknown type")
                continue
            }
            if !holders.contains(entry.holder) { problems.append("\(label): no demo account holds this identifier") }
            let declared = Set(type.fields.map(\.name))
            let given = Set(entry.fields.keys)
            if !given.isSubset(of: declared) { problems.append("\(label): undeclared fields \(given.subtracting(declared).sorted())") }
            if !declared.isSubset(of: given) { problems.append("\(label): missing fields \(declared.subtracting(given).sorted())") }
            if day(entry.issuedOn) == nil { problems.append("\(label): issuedOn \(entry.issuedOn) is not a date") }
        }
        return problems
    }

    /// Issues the entries not issued yet; returns how many were. `account` resolves a holder's identifier.
    static func load(
        _ entries: [Entry], into licenses: LicenseStore, database: any Database, account: @Sendable (String) async throws -> String?
    ) async throws -> Int {
        var issued = 0
        for entry in entries {
            guard let accountID = try await account(entry.holder) else { continue }
            let issuedAt = day(entry.issuedOn) ?? licenses.runtime.now()
            let made = try await database.transaction { db -> Bool in
                guard let type = try await ChangeLog.entity(LicenseType.self, id: entry.type, in: .public, on: db) else { return false }
                let department = try await ChangeLog.entity(Department.self, id: type.departmentId, in: .public, on: db)
                let digest = SHA256.hash(data: Data("\(entry.holder)|\(entry.type)".utf8)).map { String(format: "%02x", $0) }.joined()
                let expiresAt = entry.fields["valid_until"].flatMap(day) ?? LicenseClaims.adding(years: type.validityYears, to: issuedAt)
                guard
                    let result = try await licenses.issue(
                        .init(
                            type: type, department: department, accountID: accountID, fields: entry.fields, id: "lic_demo_" + digest.prefix(20),
                            issuedAt: issuedAt, expiresAt: expiresAt), on: db)
                else { return false }
                try await ChangeLog.append(result.records, on: db)
                return true
            }
            if made { issued += 1 }
        }
        return issued
    }

    /// Midnight of `yyyy-MM-dd` in China time, in milliseconds.
    static func day(_ text: String) -> Int? { WorkingCalendar.startOfDayMillis(text).map(Int.init) }
}
