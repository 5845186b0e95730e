import Foundation

/// Base64url without padding (RFC 7515 §2).
public func base64URL(_ data: some DataProtocol) -> String {
    Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// Decodes base64url with or without padding; `nil` when malformed.
public func decodeBase64URL(_ text: some StringProtocol) -> Data? {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
    return Data(base64Encoded: base64)
}

/// Decodes strict base64url as JOSE writes it: only `A-Z a-z 0-9 - _`, no padding; `nil` otherwise.
public func decodeStrictBase64URL(_ text: some StringProtocol) -> Data? {
    guard
        text.utf8.allSatisfy({ byte in
            (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2D || byte == 0x5F
        }), text.utf8.count % 4 != 1
    else { return nil }
    return decodeBase64URL(text)
}
