import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 address, as its bytes (an IPv4-mapped IPv6 address is its IPv4 address).
struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 or 16 bytes.
    let bytes: [UInt8]

    /// Parses `1.2.3.4`, `2001:db8::1`, and the forms proxies write with a port (`1.2.3.4:5678`, `[2001:db8::1]:443`).
    init?(_ raw: some StringProtocol) {
        // Bounded before any parsing: the longest textual IPv6 address with brackets and a port is under 60 bytes.
        guard (1...64).contains(raw.utf8.count) else { return nil }
        var text = String(raw)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            text = String(text[text.index(after: text.startIndex)..<close])
        } else if text.filter({ $0 == ":" }).count == 1 {
            text = String(text.prefix { $0 != ":" })
        }
        guard text.utf8.allSatisfy({ $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":") || ($0 < 0x80 && isxdigit(Int32($0)) != 0) }) else {
            return nil
        }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            let all = withUnsafeBytes(of: &v6) { Array($0) }
            bytes = all.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] ? Array(all.suffix(4)) : all
        } else {
            return nil
        }
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    var isIPv4: Bool { bytes.count == 4 }

    var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var copy = bytes
        let family = isIPv4 ? AF_INET : AF_INET6
        guard inet_ntop(family, &copy, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(cString: buffer)
    }

    /// The network throttles count as one client: the address itself for IPv4; the /64 for IPv6, which is what one
    /// subscriber or one host usually holds (so rotating through a /64 changes nothing).
    var throttlingNetwork: String {
        isIPv4 ? description : IPAddress(bytes: Array(bytes.prefix(8)) + Array(repeating: 0, count: 8)).description + "/64"
    }

    /// The first `length` bits.
    fileprivate func prefix(_ length: Int) -> [UInt8] {
        (0..<bytes.count).map { index in
            let bits = min(8, max(0, length - index * 8))
            return bits == 8 ? bytes[index] : bytes[index] & UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
        }
    }
}

/// A CIDR block such as `10.0.0.0/8` or `2001:db8::/32` (a bare address is its own /32 or /128).
struct IPNetwork: Sendable, Equatable {
    let address: IPAddress
    let prefixLength: Int

    init?(_ raw: some StringProtocol) {
        let parts = raw.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0].trimmingCharacters(in: .whitespaces)) else { return nil }
        let maximum = address.bytes.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maximum).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = maximum
        }
        self.address = address
    }

    func contains(_ other: IPAddress) -> Bool {
        other.bytes.count == address.bytes.count && other.prefix(prefixLength) == address.prefix(prefixLength)
    }
}

/// The proxies (load balancers) whose `X-Forwarded-For` is believed: `--trusted-proxy` / `APPAPI_TRUSTED_PROXIES`,
/// none by default, so a client cannot choose its own address by sending the header.
struct TrustedProxies: Sendable, Equatable {
    let networks: [IPNetwork]

    static let none = TrustedProxies(networks: [])

    init(networks: [IPNetwork]) { self.networks = networks }

    /// Parses a list of CIDRs separated by commas or whitespace; throws naming the first one that is not a CIDR.
    init(parsing values: [String]) throws {
        var networks: [IPNetwork] = []
        for value in values {
            for item in value.split(whereSeparator: { $0 == "," || $0 == " " }) where !item.isEmpty {
                guard let network = IPNetwork(item) else {
                    throw ConfigurationError("trusted proxy '\(item.prefix(64))' is not an IP address or CIDR block")
                }
                networks.append(network)
            }
        }
        self.networks = networks
    }

    func trusts(_ address: IPAddress) -> Bool { networks.contains { $0.contains(address) } }

    /// The client: the socket peer, unless the peer is a trusted proxy; then the rightmost `X-Forwarded-For` hop that
    /// is not a trusted proxy (each proxy appends the address it saw, so everything left of that hop is the
    /// client's own claim). A malformed hop ends the walk at the last trusted one.
    func clientAddress(peer: IPAddress?, forwardedFor: [String]) -> IPAddress? {
        guard let peer, trusts(peer), !forwardedFor.isEmpty else { return peer }
        // Only the right end matters, and a hostile client may send a long header: look at the last 4 KiB.
        let joined = forwardedFor.joined(separator: ",")
        let tail = joined.utf8.count > 4096 ? String(decoding: joined.utf8.suffix(4096), as: UTF8.self) : joined
        var candidate = peer
        for hop in tail.split(separator: ",").reversed().prefix(32) {
            guard let address = IPAddress(hop.trimmingCharacters(in: .whitespaces)) else { return candidate }
            guard trusts(address) else { return address }
            candidate = address
        }
        return candidate
    }
}
