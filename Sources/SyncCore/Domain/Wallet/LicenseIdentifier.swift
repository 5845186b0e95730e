/// An e-license identifier (电子证照标识, GB/T 36904-2018):
/// `<type code 21>.<issuer credit code 18>.<serial>.<version 3>.<check>`, where the type code is the defining
/// authority's unified social credit code plus three digits, and the check character is ISO 7064 MOD 37,36 over the
/// four parts without their dots. The deployed OID form, with the `1.2.156.3005.2.` arc in front, is accepted and
/// normalised to the bare form.
public struct LicenseIdentifier: Hashable, Sendable, CustomStringConvertible {
    /// The bare identifier, upper case, with its check character.
    public let rawValue: String
    /// 证照类型代码: the defining authority's credit code and a three-digit type number.
    public let typeCode: String
    /// 颁发机构代码: the issuing department's unified social credit code.
    public let issuer: String
    /// 证照编号 as the issuer numbers it.
    public let serial: String
    /// 版本号, three digits.
    public let version: String

    public enum Problem: Error, Equatable, Sendable {
        /// Not five dot-separated parts, or a part of the wrong length (the serial is 1–40 characters).
        case shape
        /// A character outside `0-9A-Z`, or a version that is not three digits.
        case characters
        /// The type code's authority or the issuer is not a valid unified social credit code.
        case creditCode
        /// The check character does not match.
        case checkCharacter
    }

    /// The OID arc of e-license identifiers in national deployments.
    public static let oidPrefix = "1.2.156.3005.2."
    public static let maxSerialLength = 40
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

    /// Validates `raw`: bounded in length before anything else is done with it; lower case is accepted.
    public init(_ raw: String) throws(Problem) {
        guard raw.utf8.count <= Self.oidPrefix.utf8.count + 21 + 18 + Self.maxSerialLength + 3 + 1 + 4 else { throw .shape }
        var value = raw.uppercased()
        if value.hasPrefix(Self.oidPrefix) { value.removeFirst(Self.oidPrefix.count) }
        let parts = value.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[0].count == 21, parts[1].count == 18, (1...Self.maxSerialLength).contains(parts[2].count),
            parts[3].count == 3, parts[4].count == 1
        else { throw .shape }
        guard parts.allSatisfy({ $0.allSatisfy { Self.alphabet.contains($0) } }), parts[3].allSatisfy(\.isASCIIDigit),
            parts[0].suffix(3).allSatisfy(\.isASCIIDigit)
        else { throw .characters }
        guard (try? CreditCode(String(parts[0].prefix(18)))) != nil, (try? CreditCode(parts[1])) != nil else { throw .creditCode }
        guard Self.checkCharacter(for: parts[0] + parts[1] + parts[2] + parts[3]) == parts[4].first else { throw .checkCharacter }
        self.rawValue = parts.joined(separator: ".")
        (typeCode, issuer, serial, version) = (parts[0], parts[1], parts[2], parts[3])
    }

    /// Builds the identifier of a new license, computing its check character.
    public init(typeCode: String, issuer: String, serial: String, version: Int = 1) throws(Problem) {
        guard (0...999).contains(version) else { throw .characters }
        let body = [typeCode, issuer, serial, String(repeating: "0", count: 3 - String(version).count) + String(version)]
        guard body.allSatisfy({ $0.allSatisfy { Self.alphabet.contains(Character($0.uppercased())) } }) else { throw .characters }
        let upper = body.map { $0.uppercased() }
        guard let check = Self.checkCharacter(for: upper.joined()) else { throw .characters }
        try self.init((upper + [String(check)]).joined(separator: "."))
    }

    /// ISO 7064 MOD 37,36 over `0-9A-Z`: p = 36; for each character t = (p + v) mod 36 (0 counts as 36),
    /// p = 2t mod 37; the check value is (37 − p) mod 36. `nil` for a character outside the alphabet.
    public static func checkCharacter(for text: String) -> Character? {
        var p = 36
        for character in text {
            guard let v = alphabet.firstIndex(of: character) else { return nil }
            var t = (p + v) % 36
            if t == 0 { t = 36 }
            p = (2 * t) % 37
        }
        return alphabet[(37 - p) % 36]
    }

    /// The OID form national platforms exchange.
    public var oid: String { Self.oidPrefix + rawValue }

    public var description: String { rawValue }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
