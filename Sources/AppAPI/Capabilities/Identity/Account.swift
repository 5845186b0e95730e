import Foundation
import OneTripAPI
import SyncCore

/// The kinds of account; an access token's `role` claim is the kind (`AccountRole`, shared with SyncCore).
typealias AccountKind = AccountRole

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

extension Components.Schemas.Account {
    init(_ account: Account) {
        self.init(
            id: account.id, kind: account.kind, name: account.name,
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
