import Foundation
import SyncCore

/// What a license says, field by field: facts the server owns (who the holder is, who issued it, when, its number)
/// come from the server, never from the device; the rest from the case's form, where the applicant typed them.
/// A field nothing fills is left out rather than invented.
enum LicenseClaims {
    /// Fields naming the holder (a person's or an organization's name).
    static let holderNameFields: Set<String> = [
        "name", "holder_name", "applicant", "right_holder", "owner", "operator_name", "enterprise_name", "unit_name", "taxpayer_name",
        "land_user", "discharger", "payer", "construction_unit", "operator",
    ]
    static let authorityFields: Set<String> = [
        "issuing_authority", "registration_authority", "tax_authority", "issuing_institution", "collecting_agency",
    ]
    static let issueDateFields: Set<String> = ["issued_on", "approved_on", "registered_on", "filed_on", "valid_from", "cleared_on"]
    static let numberFields: Set<String> = [
        "permit_number", "certificate_number", "license_number", "document_number", "proof_number", "filing_number", "registration_number",
        "card_number", "receipt_number",
    ]

    /// The claims of a new license of `type` for `holder`, issued by `departmentName` on `issuedOn` (yyyy-MM-dd)
    /// with `number` as its certificate number.
    static func resolve(
        _ type: LicenseType, form: [String: String], holder: LicenseHolder, departmentName: String, issuedOn: String, validUntil: String?,
        number: String
    ) -> [String: String] {
        let person = holder.idNumber.flatMap { try? ResidentIDNumber($0) }
        var claims: [String: String] = [:]
        for field in type.fields {
            let name = field.name
            let value: String? =
                if holderNameFields.contains(name) { holder.name } else if name == "id_number" {
                    holder.idNumber
                } else if name == "credit_code" || name == "taxpayer_id" { holder.creditCode ?? holder.idNumber } else if name == "sex" {
                    person.map { $0.isMale ? "男" : "女" }
                } else if name == "birth_date" { person?.birthDate } else if authorityFields.contains(name) {
                    departmentName
                } else if issueDateFields.contains(name) { issuedOn }
                // No fixed period (an ID card's depends on age; a business license's on its term): left out, not guessed.
                else if name == "valid_until" { validUntil } else if numberFields.contains(name) { number } else {
                    form[name].flatMap { $0.isEmpty ? nil : $0 }
                }
            if let value { claims[name] = value }
        }
        return claims
    }

    /// `yyyy-MM-dd` in China time.
    static func day(_ millis: Int) -> String { WorkingCalendar.day(fromMillis: Int64(millis)) }

    /// The instant `years` after `millis` (China Standard Time calendar), or `nil` when there is no fixed period.
    static func adding(years: Int?, to millis: Int) -> Int? {
        guard let years else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar.date(byAdding: .year, value: years, to: Date(timeIntervalSince1970: Double(millis) / 1000))
            .map { Int($0.timeIntervalSince1970 * 1000) }
    }
}
