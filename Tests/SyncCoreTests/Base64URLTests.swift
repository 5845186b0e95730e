import Foundation
import SyncCore
import Testing

@Suite struct Base64URLTests {
    @Test("base64url matches Foundation's base64 for every length, and decodes back")
    func roundTripsLikeFoundation() {
        for length in 0..<200 {
            let bytes = Data((0..<length).map { _ in UInt8.random(in: 0...255) })
            let expected = bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(base64URL(bytes) == expected)
            #expect(decodeStrictBase64URL(expected) == bytes)
            #expect(decodeBase64URL(bytes.base64EncodedString()) == bytes, "standard base64 with padding, too")
        }
    }

    @Test("Malformed input decodes to nothing")
    func refusesMalformedInput() {
        for bad in ["A", "AAAAA", "ab$d", "ab d", "ab=c", "QQ===", "QR"] { #expect(decodeBase64URL(bad) == nil, "\(bad)") }
        #expect(decodeStrictBase64URL("QQ==") == nil, "JOSE writes no padding")
        #expect(decodeStrictBase64URL("a+b/") == nil)
        #expect(decodeBase64URL("QQ") == Data([0x41]))
    }
}
