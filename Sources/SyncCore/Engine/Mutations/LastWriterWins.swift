/// Per-field last-writer-wins registers for client-editable fields: each field remembers the HLC of the edit
/// that set it, and a later edit (by HLC order, ties broken by client id inside the HLC) replaces it. Merging is
/// commutative, associative and idempotent, so replicas converge whatever order edits arrive in.
public struct FieldClocks: Codable, Sendable, Hashable {
    public var clocks: [String: HLC]

    public init(_ clocks: [String: HLC] = [:]) { self.clocks = clocks }

    /// Writes `value` into `field` if `hlc` is later than the field's last edit; returns whether it did.
    @discardableResult
    public mutating func assign<T>(_ field: String, _ value: T, into target: inout T, at hlc: HLC) -> Bool {
        if let current = clocks[field], current >= hlc { return false }
        clocks[field] = hlc
        target = value
        return true
    }

    public init(from decoder: any Decoder) throws {
        clocks = try decoder.singleValueContainer().decode([String: HLC].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(clocks)
    }
}
