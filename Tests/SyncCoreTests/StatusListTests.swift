import Crypto
import Foundation
import SyncCore
import Testing

/// Token Status Lists: the packing, the zlib encoding, the signed token and offline freshness.
struct StatusListTests {
    @Test func theDraftsExampleDecodes() throws {
        let list = try StatusList(bits: 1, lst: "eNrbuRgAAhcBXQ")
        #expect(list.bytes == [0xB9, 0xA3])
        #expect(list[0] == 1 && list[1] == 0 && list[3] == 1 && list[15] == 1 && list[16] == nil)
    }

    @Test func twoBitEntriesRoundTripThroughZlib() throws {
        var list = try StatusList(count: 1_000)
        try list.set(0, to: 1)
        try list.set(3, to: 2)
        try list.set(999, to: 1)
        try list.set(3, to: 2)
        #expect(list.bytes[0] == 0b1000_0001, "LSB first: entry 0 in bits 0–1, entry 3 in bits 6–7")
        let decoded = try StatusList(bits: 2, lst: list.lst)
        #expect(decoded == list)
        #expect(decoded.status(at: 0) == .invalid && decoded.status(at: 3) == .suspended && decoded.status(at: 1) == .valid)
        #expect(decoded.status(at: 1_000) == nil && decoded.status(at: -1) == nil)
        #expect(throws: StatusList.Problem.shape) { try list.set(1, to: 4) }
        #expect(throws: StatusList.Problem.shape) { try list.set(1_000, to: 1) }
    }

    @Test func aMillionLicensesWithOnePercentRevokedFitIn32KB() throws {
        var list = try StatusList(count: 1_000_000)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10_000 { try list.set(Int.random(in: 0..<1_000_000, using: &generator), to: 1) }
        let encoded = list.lst
        #expect(encoded.utf8.count <= 32 * 1024, "\(encoded.utf8.count) bytes")
        #expect(try StatusList(bits: 2, lst: encoded) == list)
    }

    @Test func hostileListsAreRefused() throws {
        #expect(throws: StatusList.Problem.encoding) { try StatusList(bits: 2, lst: "not base64!") }
        #expect(throws: StatusList.Problem.encoding) { try StatusList(bits: 2, lst: base64URL(Data("plain bytes".utf8))) }
        #expect(throws: StatusList.Problem.shape) { try StatusList(bits: 3, lst: "eNrbuRgAAhcBXQ") }
        #expect(throws: StatusList.Problem.shape) { try StatusList(count: 0) }
        // A zip bomb: 16 MiB of zeros compress to some 16 KiB, but a 1-bit list is never inflated beyond 2 MiB.
        let bomb = try StatusList(count: StatusList.maxEntries, bits: 8)
        #expect(bomb.lst.utf8.count < 64 * 1024)
        #expect(throws: StatusList.Problem.encoding) { try StatusList(bits: 1, lst: bomb.lst) }
        let truncated = String(try StatusList(count: 1_000).lst.dropLast(4))
        #expect(throws: StatusList.Problem.encoding) { try StatusList(bits: 2, lst: truncated) }
    }

    @Test func signedTokensVerifyAndOldOnesAreNotTrustedOffline() throws {
        let key = P256.Signing.PrivateKey()
        let issuer = PresentationVerifier.IssuerKey(keyID: "dept-1-k1", issuer: "11330100002500287D", key: key.publicKey)
        var list = try StatusList(count: 100)
        try list.set(7, to: 1)
        let token = StatusListToken(list: list, uri: "https://onetrip.example/v1/status-lists/dept-1", issuedAt: 1_790_000_000, timeToLive: 300)
        let signed = try token.signed(issuer: issuer.issuer, keyID: issuer.keyID, key: key)
        let verified = try StatusListToken(verifying: signed, keys: [issuer.keyID: issuer])
        #expect(verified.list == list && verified.uri == token.uri && verified.timeToLive == 300)
        #expect(throws: PresentationRejection.unknownIssuerKey) { try StatusListToken(verifying: signed, keys: [:]) }
        let forged = try token.signed(issuer: issuer.issuer, keyID: issuer.keyID, key: P256.Signing.PrivateKey())
        #expect(throws: PresentationRejection.badSignature) { try StatusListToken(verifying: forged, keys: [issuer.keyID: issuer]) }
        let license = try CompactJWS.sign(
            header: ["alg": "ES256", "typ": "dc+sd-jwt", "kid": "dept-1-k1"], payload: ["iss": "11330100002500287D"], with: key)
        #expect(throws: PresentationRejection.wrongType) { try StatusListToken(verifying: license, keys: [issuer.keyID: issuer]) }

        let fresh = PresentationVerifier.offlineStatus([verified], now: 1_790_000_000 + 3_600, maxAge: 86_400)
        #expect(fresh(7, token.uri) == .invalid && fresh(8, token.uri) == .valid && fresh(7, "https://elsewhere") == nil)
        let stale = PresentationVerifier.offlineStatus([verified], now: 1_790_000_000 + 2 * 86_400, maxAge: 86_400)
        #expect(stale(8, token.uri) == nil, "status older than the kiosk's limit counts as unknown")
    }
}
