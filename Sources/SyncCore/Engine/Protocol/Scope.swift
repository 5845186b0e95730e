/// A partition of synchronised data (docs/ARCHITECTURE.md, "Delta sync"): every entity lives in exactly one scope, and each scope
/// has its own gap-free sequence of changes.
public struct Scope: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    /// The wire form, e.g. `public`, `user:acc_123`, `dept:hz-market`, `kiosk:hz-citizen-center`.
    public let rawValue: String

    /// The catalog, service centres, FAQ, issuer keys and status lists — readable by everyone.
    public static let `public` = Scope(unchecked: "public")

    /// Everything that belongs to one account: profile, cases, orders, licenses, messages, appointments.
    public static func user(_ accountID: String) -> Scope { Scope(unchecked: "user:\(accountID)") }

    /// A department's clerk work queues.
    public static func department(_ departmentID: String) -> Scope { Scope(unchecked: "dept:\(departmentID)") }

    /// What the kiosks of one service centre need.
    public static func kiosk(_ centerID: String) -> Scope { Scope(unchecked: "kiosk:\(centerID)") }

    /// The kinds of scope, by their wire prefix.
    public enum Kind: String, Sendable, CaseIterable {
        case `public`, user, dept, kiosk
    }

    /// The kind of this scope.
    public var kind: Kind {
        if rawValue == "public" { return .public }
        let prefix = rawValue.prefix { $0 != ":" }
        return Kind(rawValue: String(prefix))!
    }

    /// The id after the prefix (`nil` for `public`).
    public var ownerID: String? {
        guard let colon = rawValue.firstIndex(of: ":") else { return nil }
        return String(rawValue[rawValue.index(after: colon)...])
    }

    private init(unchecked: String) { self.rawValue = unchecked }

    /// Parses a wire scope; `nil` when the prefix is unknown or the id is empty or malformed.
    public init?(_ raw: String) {
        if raw == "public" {
            self.rawValue = raw
            return
        }
        guard let colon = raw.firstIndex(of: ":") else { return nil }
        let prefix = String(raw[..<colon])
        let id = raw[raw.index(after: colon)...]
        guard prefix != "public", Kind(rawValue: prefix) != nil, !id.isEmpty, id.count <= 128,
            id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
        else { return nil }
        self.rawValue = raw
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let scope = Scope(raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown scope \(raw)"))
        }
        self = scope
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    public static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rawValue < rhs.rawValue }
}
