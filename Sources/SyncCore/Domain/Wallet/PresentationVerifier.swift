import Crypto
import Foundation

/// Why a license or a presentation was refused: one code per failure, so a kiosk, a clerk or an app can say exactly
/// what is wrong.
public enum PresentationRejection: String, Error, Sendable, CaseIterable {
    /// Not an SD-JWT: wrong shape, too long, too many disclosures, undecodable JWT.
    case malformed = "presentation_malformed"
    /// `alg` is not ES256 (`none`, HS256 and every other algorithm are refused).
    case unsupportedAlgorithm = "unsupported_algorithm"
    /// `typ` is not `dc+sd-jwt` (an access token, a KB-JWT or a status list presented as a license).
    case wrongType = "wrong_type"
    /// No `kid`, or a key the verifier does not know (never issued, or rotated out and retired).
    case unknownIssuerKey = "unknown_issuer_key"
    /// The key is known but belongs to another issuer than `iss` names.
    case issuerMismatch = "issuer_mismatch"
    /// The issuer signature does not verify over the bytes received.
    case badSignature = "bad_signature"
    case expired = "license_expired"
    case notYetValid = "license_not_yet_valid"
    /// `_sd_alg` is not `sha-256`.
    case unsupportedDigest = "unsupported_sd_alg"
    /// A disclosure is not `[salt, name, value]` of strings and a value.
    case disclosureMalformed = "disclosure_malformed"
    /// A disclosure whose digest the issuer did not sign (a tampered or foreign disclosure).
    case disclosureUnreferenced = "disclosure_unreferenced"
    /// A digest listed twice by the issuer, or a disclosure sent twice.
    case disclosureDuplicate = "disclosure_duplicate"
    /// A disclosure named `_sd`, `...`, `_sd_alg`, or a claim the issuer already put in the clear.
    case disclosureReservedName = "disclosure_reserved_name"
    /// The license names a holder key, but no KB-JWT follows.
    case keyBindingMissing = "key_binding_missing"
    /// The KB-JWT is not a `kb+jwt` ES256 JWS with `aud`, `nonce`, `iat` and `sd_hash`.
    case keyBindingMalformed = "key_binding_malformed"
    /// The KB-JWT is not signed by the license's `cnf` key (someone else's device).
    case keyBindingSignature = "key_binding_signature"
    /// The KB-JWT's `aud` is not this verifier (or not a single string).
    case keyBindingAudience = "key_binding_audience"
    /// The nonce is not one this verifier issued, or was used already.
    case keyBindingNonce = "key_binding_nonce"
    /// The KB-JWT's `iat` is older than the verifier accepts, or in the future.
    case keyBindingStale = "key_binding_stale"
    /// `sd_hash` does not cover the presentation as received.
    case keyBindingHash = "key_binding_sd_hash"
    /// The verifier requires holder binding and the license has no `cnf` key.
    case noHolderKey = "no_holder_key"
    /// A license identifier (GB/T 36904) whose check character or parts are wrong.
    case badIdentifier = "bad_license_identifier"
    /// The status list says the license was revoked.
    case revoked = "license_revoked"
    /// The status list says the license is suspended.
    case suspended = "license_suspended"
    /// The license has a status entry the verifier could not check (no list, index out of range, list too old).
    case statusUnknown = "license_status_unknown"
}

/// A license's status-list entry (Token Status List: 0 valid, 1 invalid, 2 suspended).
public enum LicenseStatus: UInt8, Codable, Sendable {
    case valid = 0
    case invalid = 1
    case suspended = 2
}

/// What a verified presentation proves.
public struct VerifiedPresentation: Sendable, Equatable {
    public var issuer: String
    public var keyID: String
    public var vct: String?
    /// The claims the holder disclosed, by name.
    public var disclosed: [String: JSONValue]
    /// The claims in the clear (`iss`, `vct`, `iat`, `exp`, `status`, `cnf`, …), digests removed.
    public var visible: [String: JSONValue]
    /// The holder's key from `cnf.jwk`, when the license is bound to one.
    public var holderKey: ECPublicJWK?
}

/// Verifies SD-JWT licenses and their presentations, online (server) and offline (kiosk) alike: every check of
/// RFC 9901 §7 and SD-JWT VC with ES256 only, against issuer keys and status the caller supplies.
public struct PresentationVerifier: Sendable {
    /// An issuer key the verifier trusts: its key id, the issuing department (`iss`) and the public key.
    public struct IssuerKey: Sendable {
        public var keyID: String
        public var issuer: String
        public var key: P256.Signing.PublicKey
        public init(keyID: String, issuer: String, key: P256.Signing.PublicKey) {
            self.keyID = keyID
            self.issuer = issuer
            self.key = key
        }
    }

    public struct Policy: Sendable {
        /// The `aud` a KB-JWT must name: this verifier's id.
        public var audience: String
        /// Whether a license without holder binding is refused (`no_holder_key`).
        public var requireHolderBinding: Bool
        /// How old a KB-JWT's `iat` may be, in seconds.
        public var maxPresentationAge: Int64
        /// Clock difference tolerated in `exp`, `nbf` and `iat` checks, in seconds.
        public var clockSkew: Int64

        public init(audience: String, requireHolderBinding: Bool = true, maxPresentationAge: Int64 = 600, clockSkew: Int64 = 60) {
            self.audience = audience
            self.requireHolderBinding = requireHolderBinding
            self.maxPresentationAge = maxPresentationAge
            self.clockSkew = clockSkew
        }
    }

    public var keys: [String: IssuerKey]
    public var policy: Policy
    /// The status of a list entry (`idx`, `uri`), or `nil` when it cannot be told.
    public var status: @Sendable (_ index: Int, _ uri: String) -> LicenseStatus?

    public init(keys: [IssuerKey], policy: Policy, status: @escaping @Sendable (Int, String) -> LicenseStatus? = { _, _ in nil }) {
        self.keys = Dictionary(keys.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first })
        self.policy = policy
        self.status = status
    }

    /// Verifies `presentation` at `now` (seconds since 1970). `consumeNonce` is asked once, after every signature
    /// checked, and must return true only for a nonce this verifier issued and has not seen before.
    public func verify(
        _ presentation: String, now: Int64, consumeNonce: (String) -> Bool
    ) throws(PresentationRejection) -> VerifiedPresentation {
        guard presentation.utf8.count <= SDJWT.maxBytes else { throw .malformed }
        let parts = presentation.split(separator: "~", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.count <= SDJWT.maxDisclosures + 2 else { throw .malformed }
        let jws: CompactJWS
        do { jws = try CompactJWS(parts[0]) } catch { throw .malformed }
        let issuerKey = try checkIssuerSignature(jws)

        // Disclosures: each decodes, none twice, each referenced exactly once by a digest the issuer signed.
        var disclosures: [String: SDJWT.Disclosure] = [:]
        for part in parts.dropFirst().dropLast() {
            guard let disclosure = SDJWT.Disclosure(encoded: part) else { throw .disclosureMalformed }
            guard disclosures.updateValue(disclosure, forKey: disclosure.digest) == nil else { throw .disclosureDuplicate }
        }
        if let algorithm = jws.payload["_sd_alg"], algorithm != "sha-256" { throw .unsupportedDigest }
        var referenced = Set<String>()
        var disclosed: [String: JSONValue] = [:]
        let visible = try Self.reveal(jws.payload, disclosures, referenced: &referenced, disclosed: &disclosed, topLevel: true)
        guard referenced.isSuperset(of: disclosures.keys) else { throw .disclosureUnreferenced }
        guard case .object(var claims) = visible else { throw .malformed }
        claims["_sd_alg"] = nil

        try checkValidity(claims, now: now)
        let holderKey = ECPublicJWK(claims["cnf"]?["jwk"])
        try checkKeyBinding(
            parts.last.map(String.init) ?? "", holderKey: holderKey, signed: presentation.dropLast(parts.last?.count ?? 0), now: now,
            consumeNonce: consumeNonce)
        for (name, value) in disclosed.merging(claims, uniquingKeysWith: { a, _ in a }) where name == "license_identifier" {
            guard let text = value.string, (try? LicenseIdentifier(text)) != nil else { throw .badIdentifier }
        }
        try checkStatus(claims)
        return VerifiedPresentation(
            issuer: issuerKey.issuer, keyID: issuerKey.keyID, vct: claims["vct"]?.string, disclosed: disclosed, visible: claims,
            holderKey: holderKey)
    }

    private func checkIssuerSignature(_ jws: CompactJWS) throws(PresentationRejection) -> IssuerKey {
        try Self.checkIssuerSignature(jws, types: [SDJWT.type, SDJWT.legacyType], keys: keys)
    }

    /// An issuer-signed JWS of one of `types`: ES256, a `kid` among `keys`, signed by that key, for the `iss` the
    /// key belongs to. Licenses and status lists are checked by this one function.
    static func checkIssuerSignature(_ jws: CompactJWS, types: Set<String>, keys: [String: IssuerKey]) throws(PresentationRejection) -> IssuerKey {
        guard jws.header["alg"] == "ES256" else { throw .unsupportedAlgorithm }
        guard let type = jws.header["typ"]?.string, types.contains(type) else { throw .wrongType }
        guard let keyID = jws.header["kid"]?.string, let issuerKey = keys[keyID] else { throw .unknownIssuerKey }
        guard jws.payload["iss"]?.string == issuerKey.issuer else { throw .issuerMismatch }
        guard jws.isSigned(by: issuerKey.key) else { throw .badSignature }
        return issuerKey
    }

    private func checkValidity(_ claims: [String: JSONValue], now: Int64) throws(PresentationRejection) {
        if let exp = claims["exp"] {
            guard let exp = exp.integer else { throw .malformed }
            if now > exp.addingReportingOverflow(policy.clockSkew).partialValue { throw .expired }
        }
        if let nbf = claims["nbf"] {
            guard let nbf = nbf.integer else { throw .malformed }
            if nbf > now.addingReportingOverflow(policy.clockSkew).partialValue { throw .notYetValid }
        }
    }

    private func checkKeyBinding(
        _ binding: String, holderKey: ECPublicJWK?, signed: Substring, now: Int64, consumeNonce: (String) -> Bool
    ) throws(PresentationRejection) {
        guard let holderKey else {
            if policy.requireHolderBinding { throw .noHolderKey }
            return
        }
        guard !binding.isEmpty else { throw .keyBindingMissing }
        guard let jws = try? CompactJWS(binding), jws.header["alg"] == "ES256", jws.header["typ"] == .string(SDJWT.keyBindingType),
            let iat = jws.payload["iat"]?.integer, let sdHash = jws.payload["sd_hash"]?.string, let nonce = jws.payload["nonce"]?.string
        else { throw .keyBindingMalformed }
        guard let key = holderKey.publicKey, jws.isSigned(by: key) else { throw .keyBindingSignature }
        guard jws.payload["aud"] == .string(policy.audience) else { throw .keyBindingAudience }
        guard sdHash == SDJWT.digest(String(signed)) else { throw .keyBindingHash }
        let skew = policy.clockSkew
        guard iat <= now.addingReportingOverflow(skew).partialValue,
            iat >= now.subtractingReportingOverflow(policy.maxPresentationAge.addingReportingOverflow(skew).partialValue).partialValue
        else { throw .keyBindingStale }
        guard nonce.utf8.count <= 128, consumeNonce(nonce) else { throw .keyBindingNonce }
    }

    private func checkStatus(_ claims: [String: JSONValue]) throws(PresentationRejection) {
        guard let entry = claims["status"]?["status_list"] else { return }
        guard let index = entry["idx"]?.integer, let uri = entry["uri"]?.string, index >= 0, index < Int64(Int32.max) else { throw .malformed }
        switch status(Int(index), uri) {
        case .valid: return
        case .invalid: throw .revoked
        case .suspended: throw .suspended
        case nil: throw .statusUnknown
        }
    }

    /// Replaces every digest the issuer signed (`_sd` in objects, `{"...": d}` in arrays) by its disclosure, recursively,
    /// refusing duplicates and names that are reserved or already present. Undisclosed digests simply vanish.
    private static func reveal(
        _ value: [String: JSONValue], _ disclosures: [String: SDJWT.Disclosure], referenced: inout Set<String>,
        disclosed: inout [String: JSONValue], topLevel: Bool
    ) throws(PresentationRejection) -> JSONValue {
        var object: [String: JSONValue] = [:]
        for (name, member) in value where name != "_sd" {
            object[name] = try reveal(member, disclosures, referenced: &referenced, disclosed: &disclosed)
        }
        guard let digests = value["_sd"] else { return .object(object) }
        guard let list = digests.array else { throw .malformed }
        for digest in list {
            guard let digest = digest.string else { throw .malformed }
            guard referenced.insert(digest).inserted else { throw .disclosureDuplicate }
            guard let disclosure = disclosures[digest] else { continue }
            guard let name = disclosure.name else { throw .disclosureMalformed }
            guard !["_sd", "...", "_sd_alg"].contains(name), object[name] == nil else { throw .disclosureReservedName }
            let revealed = try reveal(disclosure.value, disclosures, referenced: &referenced, disclosed: &disclosed)
            object[name] = revealed
            if topLevel { disclosed[name] = revealed }
        }
        return .object(object)
    }

    private static func reveal(
        _ value: JSONValue, _ disclosures: [String: SDJWT.Disclosure], referenced: inout Set<String>, disclosed: inout [String: JSONValue]
    ) throws(PresentationRejection) -> JSONValue {
        switch value {
        case .object(let object):
            return try reveal(object, disclosures, referenced: &referenced, disclosed: &disclosed, topLevel: false)
        case .array(let elements):
            var revealed: [JSONValue] = []
            for element in elements {
                if let object = element.object, object.count == 1, let digest = object["..."] {
                    guard let digest = digest.string else { throw .malformed }
                    guard referenced.insert(digest).inserted else { throw .disclosureDuplicate }
                    guard let disclosure = disclosures[digest] else { continue }
                    guard disclosure.name == nil else { throw .disclosureMalformed }
                    revealed.append(try reveal(disclosure.value, disclosures, referenced: &referenced, disclosed: &disclosed))
                } else {
                    revealed.append(try reveal(element, disclosures, referenced: &referenced, disclosed: &disclosed))
                }
            }
            return .array(revealed)
        default:
            return value
        }
    }
}
