import Foundation

/// A hybrid logical clock timestamp: wall-clock milliseconds, a logical counter for events within the same
/// millisecond, and the node (sync client id) that made it, which breaks ties deterministically.
/// Ordering is (physical, logical, node), so any two devices agree on which of two edits came last.
public struct HLC: Comparable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var physical: Int64
    public var logical: Int32
    public var node: String

    public init(physical: Int64, logical: Int32 = 0, node: String) {
        self.physical = physical
        self.logical = logical
        self.node = node
    }

    /// The smallest timestamp: older than anything a clock produces.
    public static let zero = HLC(physical: 0, logical: 0, node: "")

    public static func < (lhs: HLC, rhs: HLC) -> Bool {
        (lhs.physical, lhs.logical, lhs.node) < (rhs.physical, rhs.logical, rhs.node)
    }

    /// Wire form `PPPPPPPPPPPPP-LLLLL-node` (zero-padded, so strings sort like timestamps).
    public var description: String {
        let p = String(physical)
        let l = String(logical)
        return String(repeating: "0", count: max(0, 13 - p.count)) + p + "-" + String(repeating: "0", count: max(0, 5 - l.count)) + l + "-" + node
    }

    /// The largest logical counter a timestamp carries: a clock whose counter is full moves to the next millisecond,
    /// so no device-supplied counter can make the arithmetic overflow.
    public static let maxLogical: Int32 = 65_535
    /// The latest physical time a timestamp carries (13 digits, the year 2286), so the wire form keeps its width.
    public static let maxPhysical: Int64 = 9_999_999_999_999

    /// Parses the wire form; `nil` unless physical is 0…`maxPhysical` and logical 0…`maxLogical`, both plain digits.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, Self.isDigits(parts[0]), Self.isDigits(parts[1]), let physical = Int64(parts[0]), let logical = Int32(parts[1]),
            physical <= Self.maxPhysical, logical <= Self.maxLogical
        else { return nil }
        self.init(physical: physical, logical: logical, node: String(parts[2]))
    }

    private static func isDigits(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = HLC(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an HLC timestamp: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A hybrid logical clock (Kulkarni et al.). `maxSkew` bounds how far a device's timestamp may run ahead of the
/// server's wall clock (`admit`): a device whose clock is set days ahead cannot win every future edit.
public struct HybridLogicalClock: Sendable {
    public private(set) var last: HLC
    public let node: String
    public let maxSkewMillis: Int64
    private let wallClock: @Sendable () -> Int64

    public init(
        node: String, last: HLC? = nil, maxSkewMillis: Int64 = 60_000, wallClock: @escaping @Sendable () -> Int64 = HybridLogicalClock.systemMillis
    ) {
        self.node = node
        self.last = last ?? HLC(physical: 0, logical: 0, node: node)
        self.maxSkewMillis = maxSkewMillis
        self.wallClock = wallClock
    }

    /// Milliseconds since 1970 from the system clock.
    @Sendable public static func systemMillis() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }

    /// A timestamp for a local event, later than every timestamp seen so far.
    public mutating func tick() -> HLC {
        let wall = Self.bounded(wallClock())
        if wall > last.physical {
            last = HLC(physical: wall, logical: 0, node: node)
        } else {
            last = Self.successor(physical: last.physical, logical: last.logical, node: node)
        }
        return last
    }

    /// Merges a timestamp from a trusted clock (a phone merging the server's `serverHlc`), so later local events order
    /// after it — a phone whose wall clock is a day slow catches up here. Untrusted stamps (a device's, on the server)
    /// go through `admit`, which bounds the skew first.
    @discardableResult
    public mutating func receive(_ remote: HLC) -> HLC {
        let wall = Self.bounded(wallClock())
        let lastPhysical = Self.bounded(last.physical)
        let remotePhysical = Self.bounded(remote.physical)
        let physical = max(wall, lastPhysical, remotePhysical)
        if physical == lastPhysical && physical == remotePhysical {
            last = Self.successor(physical: physical, logical: max(last.logical, remote.logical), node: node)
        } else if physical == lastPhysical {
            last = Self.successor(physical: physical, logical: last.logical, node: node)
        } else if physical == remotePhysical {
            last = Self.successor(physical: physical, logical: remote.logical, node: node)
        } else {
            last = HLC(physical: physical, logical: 0, node: node)
        }
        return last
    }

    /// The timestamp to record for an edit stamped `remote` by a device: its own stamp when the device clock is
    /// plausible, else this clock's next tick (a device set days ahead must not win all future conflicts, and a stamp
    /// outside the parseable range is never kept).
    public mutating func admit(_ remote: HLC) -> HLC {
        let wall = Self.bounded(wallClock())
        let (limit, overflow) = wall.addingReportingOverflow(max(0, maxSkewMillis))
        let plausible =
            remote.physical >= 0 && remote.physical <= (overflow ? HLC.maxPhysical : min(limit, HLC.maxPhysical))
            && remote.logical >= 0 && remote.logical <= HLC.maxLogical
        guard plausible else { return tick().withNode(remote.node) }
        receive(remote)
        return remote
    }

    /// `value` within the physical range timestamps carry.
    private static func bounded(_ value: Int64) -> Int64 { min(max(value, 0), HLC.maxPhysical) }

    /// The next timestamp after (physical, logical): the counter plus one, or the next millisecond once the counter is
    /// full. At `HLC.maxPhysical` with a full counter it stays put: saturating, never trapping.
    private static func successor(physical: Int64, logical: Int32, node: String) -> HLC {
        let physical = bounded(physical)
        let logical = min(max(logical, 0), HLC.maxLogical)
        if logical < HLC.maxLogical { return HLC(physical: physical, logical: logical + 1, node: node) }
        if physical < HLC.maxPhysical { return HLC(physical: physical + 1, logical: 0, node: node) }
        return HLC(physical: physical, logical: logical, node: node)
    }
}

extension HLC {
    /// The same instant stamped by another node.
    public func withNode(_ node: String) -> HLC { HLC(physical: physical, logical: logical, node: node) }
}
