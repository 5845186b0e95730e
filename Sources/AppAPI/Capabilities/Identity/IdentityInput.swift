import Foundation

/// The bounds and character rules of identity input; each equals its bound in `openapi.yaml`. Every rule bounds the
/// length first and then looks at bytes or whole strings — never an ICU `^…$` pattern, whose `$` also matches before a
/// trailing newline.
enum IdentityInput {
    /// Names of people, companies and staff: 1–64 characters (`RegisterRequest.name`, `StaffAccountRequest.name`).
    static let maxNameLength = 64
    /// `DeviceRegistration.name`.
    static let maxDeviceNameLength = 64
    /// `LoginRequest.password` (a login password longer than bcrypt takes simply never matches).
    static let maxLoginPasswordLength = 256
    /// Resident ID numbers and credit codes are 18 characters.
    static let identifierLength = 18
    /// `StaffAccountRequest.username`: 3–64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit.
    static let usernameLengths = 3...64
    /// `refreshToken` in `POST /v1/auth/refresh`.
    static let maxRefreshTokenLength = 512

    /// 1–`maxLength` characters (Unicode scalars, as JSON Schema counts them), not blank, with no control, format or
    /// line-separator characters (no newlines, no bidi overrides that would make a name display as another).
    static func isDisplayText(_ text: String, maxLength: Int) -> Bool {
        let scalars = text.unicodeScalars
        guard text.utf8.count <= maxLength * 4, (1...maxLength).contains(scalars.count) else { return false }
        guard scalars.contains(where: { !$0.properties.isWhitespace }) else { return false }
        return scalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: false
            default: true
            }
        }
    }

    /// A staff username, checked byte by byte.
    static func isUsername(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard usernameLengths.contains(bytes.count), let first = bytes.first, isLowerAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// A mainland mobile number: exactly 11 ASCII digits, `1`, then 3–9.
    static func isMobilePhone(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 11, bytes[0] == UInt8(ascii: "1"), (UInt8(ascii: "3")...UInt8(ascii: "9")).contains(bytes[1]) else { return false }
        return bytes.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// Whether an identifier given at login could name an account at all: registration only stores printable ASCII,
    /// so anything else is answered like an unknown account without a query (Postgres would refuse a NUL).
    static func isStorableIdentifier(_ text: String) -> Bool {
        (1...usernameLengths.upperBound).contains(text.utf8.count) && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
