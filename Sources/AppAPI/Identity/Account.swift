import Foundation
import SyncCore

/// The kinds of account; an access token's `role` claim is the kind.
enum AccountKind: String, Codable, Sendable, CaseIterable {
    /// 个人: identified by a resident ID number.
    case citizen
    /// 法人: identified by a unified social credit code.
    case enterprise
    /// 窗口工作人员: belongs to a department.
    case clerk
    case admin
    /// 24-hour self-service kiosk (自助机): a device account at a service centre.
    case kiosk

    /// Accounts that apply for matters and hold licenses.
    static let applicants: Set<AccountKind> = [.citizen, .enterprise]
}

/// A stored account. `passwordHash` never leaves the Identity folder.
struct Account: Sendable, Equatable {
    var id: String
    var kind: AccountKind
    var idNumber: String?
    var creditCode: String?
    var username: String?
    var name: String
    var phone: String?
    var passwordHash: String
    var departmentID: String?
    var centerID: String?
    var createdAt: Int

    static func newID() -> String { "acc_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20) }
}

/// The platforms a device can be.
enum Platform: String, Codable, Sendable {
    case ios, android, kiosk, cli
}

/// A phone, kiosk or CLI profile: one session and one refresh-token family.
struct Device: Sendable, Equatable {
    var id: String
    var accountID: String
    var name: String
    var platform: Platform
    /// The device's P-256 public key as JSON (holder binding for licenses).
    var publicJWK: String?
    var createdAt: Int
    var lastSeenAt: Int?
    var revokedAt: Int?

    static func newID() -> String { "dev_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20) }
}

/// Who is calling: what a verified access token says.
struct Identity: Sendable, Equatable {
    var accountID: String
    var kind: AccountKind
    var deviceID: String
    var departmentID: String?
    var centerID: String?
}

extension Components.Schemas.Account {
    init(_ account: Account) {
        self.init(
            id: account.id, kind: .init(rawValue: account.kind.rawValue)!, name: account.name,
            idNumberMasked: account.idNumber.flatMap { try? ResidentIDNumber($0) }?.masked, creditCode: account.creditCode,
            username: account.username, phoneMasked: account.phone.map(maskPhone), departmentId: account.departmentID,
            centerId: account.centerID, createdAt: Date(timeIntervalSince1970: Double(account.createdAt) / 1000)
        )
    }
}

/// `138****0001`: enough for the owner to recognise, too little to misuse.
func maskPhone(_ phone: String) -> String {
    guard phone.count == 11 else { return String(repeating: "*", count: phone.count) }
    return String(phone.prefix(3)) + "****" + String(phone.suffix(4))
}
