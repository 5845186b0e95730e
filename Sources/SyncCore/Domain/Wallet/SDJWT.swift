import Crypto
import Foundation

/// Selective-disclosure JWTs (RFC 9901) as OneTrip issues and presents licenses: an issuer-signed JWT carrying the
/// SHA-256 digests of its disclosable claims in `_sd`, the disclosures `[salt, name, value]` beside it, and a key-binding
/// JWT by the holder's device key when presented. Serialized `<JWT>~<D1>~…~<Dn>~[KB-JWT]`.
public enum SDJWT {
    /// The SD-JWT VC media type (`vc+sd-jwt` before November 2024; verifiers accept both).
    public static let type = "dc+sd-jwt"
    public static let legacyType = "vc+sd-jwt"
    public static let keyBindingType = "kb+jwt"
    /// Disclosures one SD-JWT may carry; a longer list is refused before any is decoded.
    public static let maxDisclosures = 64
    /// The longest serialized SD-JWT or presentation accepted.
    public static let maxBytes = 64 * 1024

    /// One disclosure: `base64url(JSON [salt, name, value])`, with the digest the issuer signed.
    public struct Disclosure: Hashable, Sendable {
        public let encoded: String
        public let salt: String
        /// The claim name; `nil` for an array element.
        public let name: String?
        public let value: JSONValue

        /// A new object-property disclosure with a fresh 128-bit salt.
        public init(name: String, value: JSONValue) throws {
            let salt = base64URL(SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) })
            let json = try JSONValue.encoder.encode(JSONValue.array([.string(salt), .string(name), value]))
            self.encoded = base64URL(json)
            self.salt = salt
            self.name = name
            self.value = value
        }

        /// Decodes a received disclosure; `nil` unless it is a JSON array `[salt, name, value]` or `[salt, value]` with
        /// string salt and name.
        public init?(encoded: some StringProtocol) {
            guard let bytes = decodeStrictBase64URL(encoded), let array = try? JSONDecoder().decode([JSONValue].self, from: bytes),
                let salt = array.first?.string
            else { return nil }
            switch array.count {
            case 3:
                guard let name = array[1].string else { return nil }
                self.name = name
                self.value = array[2]
            case 2:
                self.name = nil
                self.value = array[1]
            default: return nil
            }
            self.encoded = String(encoded)
            self.salt = salt
        }

        /// `base64url(SHA-256(ASCII(encoded)))`.
        public var digest: String { SDJWT.digest(encoded) }
    }

    /// `base64url(SHA-256(text))`: disclosure digests and `sd_hash`.
    public static func digest(_ text: String) -> String { base64URL(Data(SHA256.hash(data: Data(text.utf8)))) }

    /// Issues an SD-JWT: `visible` claims in the clear (`iss`, `vct`, `iat`, `exp`, `cnf`, `status`, …) and each of
    /// `disclosable` as its own disclosure with a fresh salt; digests sorted so their order tells nothing. Returns the
    /// serialization with every disclosure, ending in `~`.
    public static func issue(
        visible: [String: JSONValue], disclosable: [String: JSONValue], keyID: String, key: P256.Signing.PrivateKey
    ) throws -> String {
        let disclosures = try disclosable.keys.sorted().map { try Disclosure(name: $0, value: disclosable[$0]!) }
        var payload = visible
        payload["_sd"] = .array(disclosures.map(\.digest).sorted().map(JSONValue.string))
        payload["_sd_alg"] = .string("sha-256")
        let header: [String: JSONValue] = ["alg": "ES256", "typ": .string(type), "kid": .string(keyID)]
        let jwt = try CompactJWS.sign(header: header, payload: payload, with: key)
        return ([jwt] + disclosures.map(\.encoded)).joined(separator: "~") + "~"
    }

    /// A presentation of `sdJWT` (as issued, with all its disclosures) that keeps only the disclosures of `fields`
    /// and ends in a KB-JWT by `holderKey` for `audience` and `nonce` at `issuedAt` (seconds since 1970).
    public static func present(
        _ sdJWT: String, fields: Set<String>, audience: String, nonce: String, issuedAt: Int64, holderKey: P256.Signing.PrivateKey
    ) throws -> String {
        let parts = sdJWT.split(separator: "~", omittingEmptySubsequences: false)
        guard let jwt = parts.first else { throw CompactJWS.Problem.malformed }
        let kept = parts.dropFirst().filter { part in Disclosure(encoded: part)?.name.map(fields.contains) ?? false }
        let withoutBinding = ([String(jwt)] + kept.map(String.init)).joined(separator: "~") + "~"
        let binding = try CompactJWS.sign(
            header: ["alg": "ES256", "typ": .string(keyBindingType)],
            payload: ["aud": .string(audience), "nonce": .string(nonce), "iat": .integer(issuedAt), "sd_hash": .string(digest(withoutBinding))],
            with: holderKey)
        return withoutBinding + binding
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}
