import Crypto
import Foundation

/// A compact JWS signed with ES256, kept as the bytes it arrived in: the signature is checked over the
/// `header.payload` text exactly as sent, never over a re-encoding.
public struct CompactJWS: Sendable {
    public let header: [String: JSONValue]
    public let payload: [String: JSONValue]
    /// `base64url(header) "." base64url(payload)`, as received.
    public let signingInput: String
    /// The raw `r ‖ s` signature (64 bytes for ES256).
    public let signature: Data

    /// The largest JWS this type parses; anything longer is refused before decoding.
    public static let maxBytes = 32 * 1024

    public enum Problem: Error, Equatable, Sendable {
        case malformed
    }

    /// Splits and decodes `text` (three strict base64url parts, JSON objects for header and payload).
    public init(_ text: some StringProtocol) throws(Problem) {
        guard text.utf8.count <= Self.maxBytes else { throw .malformed }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = decodeStrictBase64URL(parts[0]), let payloadBytes = decodeStrictBase64URL(parts[1]),
            let signature = decodeStrictBase64URL(parts[2]),
            let header = try? JSONDecoder().decode([String: JSONValue].self, from: headerBytes),
            let payload = try? JSONDecoder().decode([String: JSONValue].self, from: payloadBytes)
        else { throw .malformed }
        self.header = header
        self.payload = payload
        self.signingInput = parts[0] + "." + parts[1]
        self.signature = signature
    }

    /// True when `signature` is a valid ES256 signature by `key` over the received signing input.
    public func isSigned(by key: P256.Signing.PublicKey) -> Bool {
        guard signature.count == 64, let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
        return key.isValidSignature(ecdsa, for: Data(signingInput.utf8))
    }

    /// Signs `payload` under `header` (which should name `alg: ES256`, a `typ` and usually a `kid`) with `key`.
    public static func sign(header: [String: JSONValue], payload: [String: JSONValue], with key: P256.Signing.PrivateKey) throws -> String {
        let input = base64URL(try JSONValue.encoder.encode(header)) + "." + base64URL(try JSONValue.encoder.encode(payload))
        return input + "." + base64URL(try key.signature(for: Data(input.utf8)).rawRepresentation)
    }
}

extension JSONValue {
    /// Compact, key-sorted JSON without escaped slashes: what OneTrip signs.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

/// A P-256 public key as a JWK (`kty: EC`, `crv: P-256`), the form issuer keys and holder keys travel in.
public struct ECPublicJWK: Codable, Hashable, Sendable {
    public var kty = "EC"
    public var crv = "P-256"
    public var x: String
    public var y: String
    public var kid: String?

    public init(_ key: P256.Signing.PublicKey, kid: String? = nil) {
        let point = key.rawRepresentation
        self.x = base64URL(point.prefix(32))
        self.y = base64URL(point.suffix(32))
        self.kid = kid
    }

    public init?(_ value: JSONValue?) {
        guard let object = value?.object, object["kty"]?.string == "EC", object["crv"]?.string == "P-256", let x = object["x"]?.string,
            let y = object["y"]?.string
        else { return nil }
        self.x = x
        self.y = y
        self.kid = object["kid"]?.string
    }

    /// The key, or `nil` when the coordinates are not a point on P-256.
    public var publicKey: P256.Signing.PublicKey? {
        guard let x = decodeStrictBase64URL(x), let y = decodeStrictBase64URL(y), x.count == 32, y.count == 32 else { return nil }
        return try? P256.Signing.PublicKey(rawRepresentation: x + y)
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["kty": .string(kty), "crv": .string(crv), "x": .string(x), "y": .string(y)]
        if let kid { object["kid"] = .string(kid) }
        return .object(object)
    }
}
