import CZlib
import Crypto
import Foundation

/// A Token Status List (IETF OAuth Status List): one entry of `bits` bits per license, least significant bits first,
/// carried as `base64url(zlib(bytes))`. OneTrip uses 2 bits: 0 valid, 1 invalid (revoked), 2 suspended.
public struct StatusList: Equatable, Sendable {
    public let bits: Int
    public private(set) var bytes: [UInt8]

    /// The most entries one list holds; a compressed list that would inflate beyond it is refused.
    public static let maxEntries = 1 << 24

    public enum Problem: Error, Equatable, Sendable {
        /// `bits` is not 1, 2, 4 or 8, or the size is out of range.
        case shape
        /// `lst` is not base64url of zlib-compressed data, or inflates beyond `maxEntries`.
        case encoding
    }

    /// An all-valid list of `count` entries.
    public init(count: Int, bits: Int = 2) throws(Problem) {
        guard [1, 2, 4, 8].contains(bits), (1...Self.maxEntries).contains(count) else { throw .shape }
        self.bits = bits
        self.bytes = [UInt8](repeating: 0, count: (count * bits + 7) / 8)
    }

    /// Decodes `lst` as received in a status list token.
    public init(bits: Int, lst: String) throws(Problem) {
        guard [1, 2, 4, 8].contains(bits) else { throw .shape }
        guard lst.utf8.count <= 4 * 1024 * 1024, let compressed = decodeStrictBase64URL(lst),
            let bytes = Self.inflate(compressed, limit: Self.maxEntries * bits / 8)
        else { throw .encoding }
        self.bits = bits
        self.bytes = bytes
    }

    /// How many entries the list has room for.
    public var count: Int { bytes.count * 8 / bits }

    /// The entry at `index`; `nil` out of range.
    public subscript(index: Int) -> UInt8? {
        guard index >= 0, index < count else { return nil }
        let bit = index * bits
        return (bytes[bit / 8] >> UInt8(bit % 8)) & UInt8((1 << bits) - 1)
    }

    /// Sets the entry at `index` (in range, and a value that fits in `bits`).
    public mutating func set(_ index: Int, to value: UInt8) throws(Problem) {
        guard index >= 0, index < count, Int(value) < 1 << bits else { throw .shape }
        let bit = index * bits
        let mask = UInt8((1 << bits) - 1) << UInt8(bit % 8)
        bytes[bit / 8] = (bytes[bit / 8] & ~mask) | (value << UInt8(bit % 8))
    }

    /// The status of a license's entry, `nil` out of range or for a value OneTrip does not use.
    public func status(at index: Int) -> LicenseStatus? { self[index].flatMap(LicenseStatus.init(rawValue:)) }

    /// `base64url(zlib(bytes))` at the best compression: the `lst` of a token.
    public var lst: String {
        var length = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(length))
        let result = compress2(&output, &length, bytes, uLong(bytes.count), Z_BEST_COMPRESSION)
        precondition(result == Z_OK, "zlib compress2 failed with \(result) on a buffer it sized itself")
        return base64URL(output.prefix(Int(length)))
    }

    /// Inflates zlib data, refusing output beyond `limit` bytes (a small token must not expand into gigabytes).
    static func inflate(_ data: Data, limit: Int) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = [UInt8](data)
        return input.withUnsafeMutableBufferPointer { source -> [UInt8]? in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                guard output.count + produced <= limit else { return nil }
                output.append(contentsOf: chunk.prefix(produced))
                switch status {
                case Z_STREAM_END: return stream.avail_in == 0 ? output : nil
                case Z_OK: if produced == 0 && stream.avail_in == 0 { return nil }
                default: return nil
                }
            }
        }
    }
}

/// A signed status list (`typ: statuslist+jwt`): the list, the URI it is published at, when it was issued and how
/// long a verifier may cache it.
public struct StatusListToken: Sendable {
    public static let type = "statuslist+jwt"
    /// The longest token accepted (a list of 2^24 entries, compressed, fits with room to spare).
    public static let maxBytes = 8 * 1024 * 1024
    public var list: StatusList
    public var uri: String
    public var issuedAt: Int64
    /// Seconds a verifier may keep using this token before fetching a newer one.
    public var timeToLive: Int64

    public init(list: StatusList, uri: String, issuedAt: Int64, timeToLive: Int64) {
        self.list = list
        self.uri = uri
        self.issuedAt = issuedAt
        self.timeToLive = timeToLive
    }

    /// Signs the token as the issuing department.
    public func signed(issuer: String, keyID: String, key: P256.Signing.PrivateKey) throws -> String {
        try CompactJWS.sign(
            header: ["alg": "ES256", "typ": .string(Self.type), "kid": .string(keyID)],
            payload: [
                "iss": .string(issuer), "sub": .string(uri), "iat": .integer(issuedAt), "ttl": .integer(timeToLive),
                "status_list": .object(["bits": .integer(Int64(list.bits)), "lst": .string(list.lst)]),
            ],
            with: key)
    }

    /// Verifies a token against the issuer keys a verifier trusts, by key id (`PresentationVerifier.keys`): ES256,
    /// `typ`, a known key of the `iss` it names.
    public init(verifying token: String, keys: [String: PresentationVerifier.IssuerKey]) throws(PresentationRejection) {
        guard token.utf8.count <= Self.maxBytes else { throw .malformed }
        let jws: CompactJWS
        do { jws = try CompactJWS(token) } catch { throw .malformed }
        _ = try PresentationVerifier.checkIssuerSignature(jws, types: [Self.type], keys: keys)
        guard let uri = jws.payload["sub"]?.string, let iat = jws.payload["iat"]?.integer, let entry = jws.payload["status_list"],
            let bits = entry["bits"]?.integer, let lst = entry["lst"]?.string, let list = try? StatusList(bits: Int(clamping: bits), lst: lst)
        else { throw .malformed }
        self.init(list: list, uri: uri, issuedAt: iat, timeToLive: jws.payload["ttl"]?.integer ?? 0)
    }
}

extension PresentationVerifier {
    /// Status answers from status list tokens a kiosk holds offline: `nil` (so `license_status_unknown`) for a list
    /// it has no token for, and for one issued more than `maxAge` seconds before `now` — old status information is
    /// refused, not trusted.
    public static func offlineStatus(_ tokens: [StatusListToken], now: Int64, maxAge: Int64) -> @Sendable (Int, String) -> LicenseStatus? {
        let fresh = Dictionary(
            tokens.filter { now.subtractingReportingOverflow($0.issuedAt).partialValue <= maxAge }.map { ($0.uri, $0.list) },
            uniquingKeysWith: { first, _ in first })
        return { index, uri in fresh[uri]?.status(at: index) }
    }
}
