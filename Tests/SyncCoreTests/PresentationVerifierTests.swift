import Crypto
import Foundation
import SyncCore
import Synchronization
import Testing

/// SD-JWT licenses and presentations under the attack list of the wallet: every failure refused with its own code.
struct PresentationVerifierTests {
    static let issuer = "11330100002500287D"
    static let now: Int64 = 1_790_000_000
    let issuerKey = P256.Signing.PrivateKey()
    let holderKey = P256.Signing.PrivateKey()

    var visible: [String: JSONValue] {
        [
            "iss": .string(Self.issuer), "vct": "urn:onetrip:license:business-licence", "iat": .integer(Self.now - 86_400),
            "exp": .integer(Self.now + 365 * 86_400), "cnf": .object(["jwk": ECPublicJWK(holderKey.publicKey).json]),
            "status": .object(["status_list": .object(["idx": .integer(7), "uri": "https://onetrip.example/v1/status-lists/dept-1"])]),
        ]
    }
    static let fields: [String: JSONValue] = [
        "name": "杭州西湖茶叶有限公司", "credit_code": "91330106MA2B3C4D5E", "legal_representative": "张三",
        "license_identifier": .string(LicenseIdentifierTests.zhejiang), "address": .object(["city": "杭州市", "district": "西湖区"]),
    ]

    func license(visible: [String: JSONValue]? = nil, disclosable: [String: JSONValue] = Self.fields, kid: String = "dept-1-k1") throws -> String {
        try SDJWT.issue(visible: visible ?? self.visible, disclosable: disclosable, keyID: kid, key: issuerKey)
    }

    func present(
        _ license: String, fields: Set<String> = ["name", "legal_representative"], audience: String = "kiosk-xihu-01", nonce: String = "n-1",
        iat: Int64 = Self.now, key: P256.Signing.PrivateKey? = nil
    ) throws -> String {
        try SDJWT.present(license, fields: fields, audience: audience, nonce: nonce, issuedAt: iat, holderKey: key ?? holderKey)
    }

    func verifier(status: LicenseStatus? = .valid, kid: String = "dept-1-k1") -> PresentationVerifier {
        PresentationVerifier(
            keys: [.init(keyID: kid, issuer: Self.issuer, key: issuerKey.publicKey)], policy: .init(audience: "kiosk-xihu-01"),
            status: { index, _ in index == 7 ? status : nil })
    }

    func rejection(_ presentation: String, _ verifier: PresentationVerifier? = nil, nonce: @escaping (String) -> Bool = { $0 == "n-1" })
        -> PresentationRejection?
    {
        do {
            _ = try (verifier ?? self.verifier()).verify(presentation, now: Self.now, consumeNonce: nonce)
            return nil
        } catch { return error }
    }

    /// Signs any header and payload with the issuer's key, for licenses an honest issuer would never make.
    func forged(
        header: [String: JSONValue] = ["alg": "ES256", "typ": "dc+sd-jwt", "kid": "dept-1-k1"], payload: [String: JSONValue],
        disclosures: [String] = []
    ) throws -> String {
        ([try CompactJWS.sign(header: header, payload: payload, with: issuerKey)] + disclosures).joined(separator: "~") + "~"
    }

    @Test func theDigestOfADisclosureIsRFC9901s() {
        let disclosure = SDJWT.Disclosure(encoded: "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNXHUwMGY2Yml1cyJd")
        #expect(disclosure?.name == "family_name" && disclosure?.value == "Möbius")
        #expect(disclosure?.digest == "BwU3T4PB1Wk6TbA1HUOm9XenJYLZfYtJGn8hMl77zwg")
    }

    @Test func aPresentationShowsOnlyTheChosenFieldsAndVerifies() throws {
        let issued = try license()
        let verified = try verifier().verify(try present(issued), now: Self.now) { $0 == "n-1" }
        #expect(verified.disclosed == ["name": "杭州西湖茶叶有限公司", "legal_representative": "张三"])
        #expect(verified.issuer == Self.issuer && verified.vct == "urn:onetrip:license:business-licence")
        #expect(verified.visible["credit_code"] == nil && verified.visible["address"] == nil, "undisclosed fields stay hidden")
        #expect(verified.holderKey == ECPublicJWK(holderKey.publicKey))
        let structured = try verifier().verify(try present(issued, fields: ["address"]), now: Self.now) { _ in true }
        #expect(structured.disclosed["address"]?["district"] == "西湖区")
    }

    @Test func twoCopiesOfOneLicenseShareNoSaltAndNoDigest() throws {
        let first = try license().split(separator: "~").dropFirst().compactMap { SDJWT.Disclosure(encoded: $0) }
        let second = try license().split(separator: "~").dropFirst().compactMap { SDJWT.Disclosure(encoded: $0) }
        #expect(first.count == Self.fields.count && second.count == Self.fields.count)
        #expect(Set(first.map(\.salt)).isDisjoint(with: second.map(\.salt)))
        #expect(Set(first.map(\.digest)).isDisjoint(with: second.map(\.digest)))
        #expect(first.allSatisfy { decodeBase64URL($0.salt)?.count == 16 }, "128-bit salts")
    }

    @Test func disclosureAttacksAreRefused() throws {
        let presented = try present(try license())
        var parts = presented.split(separator: "~", omittingEmptySubsequences: false).map(String.init)
        // Tampered: the same salt and name, another value.
        let original = try #require(SDJWT.Disclosure(encoded: parts[1]))
        let tampered = base64URL(try JSONValue.encoder.encode(JSONValue.array([.string(original.salt), .string(original.name!), "李四"])))
        parts[1] = tampered
        #expect(rejection(parts.joined(separator: "~")) == .disclosureUnreferenced)
        // A disclosure from another license of the same holder.
        let foreign = try license().split(separator: "~")[1]
        let withForeign = try insert(String(foreign), into: try license())
        #expect(rejection(try present(withForeign, fields: Set(Self.fields.keys))) == .disclosureUnreferenced)
        // The same disclosure twice.
        let issued = try license()
        let first = String(issued.split(separator: "~")[1])
        #expect(rejection(try present(try insert(first, into: issued), fields: Set(Self.fields.keys))) == .disclosureDuplicate)
        // Not a disclosure.
        #expect(rejection(try insert(base64URL(Data("[1,2,3]".utf8)), into: try present(issued))) == .disclosureMalformed)
    }

    @Test func forgedStructuresAreRefused() throws {
        let name = try SDJWT.Disclosure(name: "name", value: "张三")
        var payload = visible
        payload["_sd"] = .array([.string(name.digest), .string(name.digest)])
        #expect(rejection(try forged(payload: payload, disclosures: [name.encoded]), verifier(), nonce: { _ in true }) == .disclosureDuplicate)
        for reserved in ["_sd", "...", "iss", "vct"] {
            let disclosure = try SDJWT.Disclosure(name: reserved, value: "x")
            payload["_sd"] = .array([.string(disclosure.digest)])
            let unbound = payload.filter { $0.key != "cnf" }
            #expect(rejection(try forged(payload: unbound, disclosures: [disclosure.encoded]), lenient) == .disclosureReservedName, "\(reserved)")
        }
        payload["_sd"] = .array([.string(name.digest)])
        payload["_sd_alg"] = "sha-1"
        #expect(rejection(try forged(payload: payload.filter { $0.key != "cnf" }, disclosures: [name.encoded]), lenient) == .unsupportedDigest)
    }

    @Test func keyBindingAttacksAreRefused() throws {
        let issued = try license()
        #expect(rejection(issued) == .keyBindingMissing, "the license alone, as issued")
        #expect(rejection(try present(issued, key: P256.Signing.PrivateKey())) == .keyBindingSignature, "someone else's device")
        #expect(rejection(try present(issued, audience: "kiosk-other")) == .keyBindingAudience)
        #expect(rejection(try present(issued, iat: Self.now - 3_600)) == .keyBindingStale)
        #expect(rejection(try present(issued, iat: Self.now + 3_600)) == .keyBindingStale)
        // A disclosure added after the holder signed: sd_hash no longer covers what is presented.
        let presented = try present(issued, fields: ["name"])
        let extra = String(issued.split(separator: "~")[2])
        let cut = presented.range(of: "~", options: .backwards)!.lowerBound
        let widened = presented[..<cut] + "~" + extra + presented[cut...]
        #expect(rejection(String(widened)) == .keyBindingHash)
        // A replayed nonce: the verifier's set of issued nonces forgets each one on use.
        let issuedNonces = Nonces(["n-1"])
        let once = try present(issued)
        #expect(rejection(once, nil, nonce: issuedNonces.consume) == nil)
        #expect(rejection(once, nil, nonce: issuedNonces.consume) == .keyBindingNonce)
        #expect(rejection(try present(issued, nonce: "made-up")) == .keyBindingNonce)
        // A KB-JWT of the wrong type.
        let fakeBinding = try CompactJWS.sign(header: ["alg": "ES256", "typ": "JWT"], payload: ["aud": "kiosk-xihu-01"], with: holderKey)
        #expect(rejection(try present(issued).split(separator: "~").dropLast().joined(separator: "~") + "~" + fakeBinding) == .keyBindingMalformed)
    }

    @Test func issuerAttacksAreRefused() throws {
        let issued = try present(try license())
        #expect(rejection(issued, verifier(kid: "dept-1-k2")) == .unknownIssuerKey, "a key the verifier does not hold (rotated out)")
        let otherIssuer = PresentationVerifier(
            keys: [.init(keyID: "dept-1-k1", issuer: "91330106MA2B3C4D5E", key: issuerKey.publicKey)], policy: .init(audience: "kiosk-xihu-01"))
        #expect(rejection(issued, otherIssuer) == .issuerMismatch)
        let impostor = P256.Signing.PrivateKey()
        let forgedLicense = try SDJWT.issue(visible: visible, disclosable: Self.fields, keyID: "dept-1-k1", key: impostor)
        #expect(rejection(try present(forgedLicense)) == .badSignature)
        // alg none, HS256 keyed with anything, and an access token shown as a license.
        let jwt = String(issued.split(separator: "~")[0])
        let payloadPart = jwt.split(separator: ".")[1]
        for header in [#"{"alg":"none","typ":"dc+sd-jwt","kid":"dept-1-k1"}"#, #"{"alg":"HS256","typ":"dc+sd-jwt","kid":"dept-1-k1"}"#] {
            let swapped =
                base64URL(Data(header.utf8)) + "." + payloadPart + "." + (header.contains("none") ? "" : base64URL(Data(repeating: 1, count: 32)))
            #expect(rejection(issued.replacingOccurrences(of: jwt, with: swapped)) == .unsupportedAlgorithm)
        }
        let accessToken = try CompactJWS.sign(header: ["alg": "ES256", "typ": "at+jwt", "kid": "dept-1-k1"], payload: visible, with: issuerKey)
        #expect(rejection(accessToken + "~") == .wrongType)
        let untyped = try CompactJWS.sign(header: ["alg": "ES256", "kid": "dept-1-k1"], payload: visible, with: issuerKey)
        #expect(rejection(untyped + "~") == .wrongType)
        #expect(rejection(try present(try license(kid: "dept-1-k1").replacingOccurrences(of: "dc+sd-jwt", with: "vc+sd-jwt"))) != .wrongType)
    }

    @Test func expiryStatusAndIdentifierAreChecked() throws {
        var expired = visible
        expired["exp"] = .integer(Self.now - 3_600)
        #expect(rejection(try present(try license(visible: expired))) == .expired)
        var future = visible
        future["nbf"] = .integer(Self.now + 3_600)
        #expect(rejection(try present(try license(visible: future))) == .notYetValid)
        let issued = try present(try license())
        #expect(rejection(issued, verifier(status: .invalid)) == .revoked)
        #expect(rejection(issued, verifier(status: .suspended)) == .suspended)
        #expect(rejection(issued, verifier(status: nil)) == .statusUnknown, "fails closed without status information")
        var badIdentifier = Self.fields
        badIdentifier["license_identifier"] = .string(String(LicenseIdentifierTests.zhejiang.dropLast()) + "7")
        #expect(rejection(try present(try license(disclosable: badIdentifier), fields: ["license_identifier"])) == .badIdentifier)
        #expect(rejection(try present(try license(), fields: ["license_identifier"])) == nil)
    }

    @Test func hostileBytesAreRefusedWithoutACrash() throws {
        for garbage in ["", "~", "~~~", "a.b.c~", "..~", String(repeating: "~", count: 100), String(repeating: "A", count: 70_000)] {
            #expect(rejection(garbage) == .malformed, "\(garbage.prefix(20))")
        }
        let deep = String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000)
        let nested =
            base64URL(Data(#"{"alg":"ES256","typ":"dc+sd-jwt","kid":"dept-1-k1"}"#.utf8)) + "." + base64URL(Data(#"{"a":\#(deep)}"#.utf8)) + ".AA"
        #expect(rejection(nested + "~") == .malformed)
        let padded = try license().replacingOccurrences(of: "~", with: "=~")
        #expect(rejection(padded) != nil)
    }

    var lenient: PresentationVerifier {
        var verifier = verifier()
        verifier.policy.requireHolderBinding = false
        return verifier
    }

    /// `license` with `disclosure` added as its first disclosure.
    func insert(_ disclosure: String, into license: String) throws -> String {
        let cut = try #require(license.firstIndex(of: "~"))
        return license[..<cut] + "~" + disclosure + license[cut...]
    }
}

/// Nonces a verifier issued; each may be used once.
final class Nonces: Sendable {
    private let open: Mutex<Set<String>>
    init(_ nonces: Set<String>) { open = Mutex(nonces) }
    func consume(_ nonce: String) -> Bool { open.withLock { $0.remove(nonce) != nil } }
}
