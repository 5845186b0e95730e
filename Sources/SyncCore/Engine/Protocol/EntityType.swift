/// The kind of entity a change carries, by its wire name (`case`, `matter`, …). The engine knows no particular type:
/// each domain declares its own as static constants and lists them in its `SyncSchema`.
public struct EntityType: RawRepresentable, Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Any wire name; whether a schema knows it is `SyncSchema.entity(_:)`'s question.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Declares a type: `static let matter = EntityType("matter")`.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    public static func < (lhs: EntityType, rhs: EntityType) -> Bool { lhs.rawValue < rhs.rawValue }
}
