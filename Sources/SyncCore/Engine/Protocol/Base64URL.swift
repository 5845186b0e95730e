import Foundation

/// Base64url without padding (RFC 7515 §2), on bytes: every JWS, disclosure and status list goes through these, so
/// they avoid Foundation's string replacement (which dominated verification time on Linux).
private let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

/// The 6-bit value of each base64url character; 0xFF for any other byte. `+` and `/` are accepted too (standard
/// base64), as `decodeBase64URL` always did.
private let values: [UInt8] = {
    var table = [UInt8](repeating: 0xFF, count: 256)
    for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
    table[Int(UInt8(ascii: "+"))] = 62
    table[Int(UInt8(ascii: "/"))] = 63
    return table
}()

/// Base64url without padding.
public func base64URL(_ data: some Sequence<UInt8>) -> String {
    let bytes = Array(data)
    var out = [UInt8]()
    out.reserveCapacity((bytes.count * 4 + 2) / 3)
    var index = 0
    while index + 3 <= bytes.count {
        let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
        out.append(alphabet[Int(chunk >> 18 & 63)])
        out.append(alphabet[Int(chunk >> 12 & 63)])
        out.append(alphabet[Int(chunk >> 6 & 63)])
        out.append(alphabet[Int(chunk & 63)])
        index += 3
    }
    switch bytes.count - index {
    case 1:
        let chunk = UInt32(bytes[index]) << 16
        out.append(alphabet[Int(chunk >> 18 & 63)])
        out.append(alphabet[Int(chunk >> 12 & 63)])
    case 2:
        let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
        out.append(alphabet[Int(chunk >> 18 & 63)])
        out.append(alphabet[Int(chunk >> 12 & 63)])
        out.append(alphabet[Int(chunk >> 6 & 63)])
    default: break
    }
    return String(decoding: out, as: UTF8.self)
}

/// Decodes base64url (or standard base64) with or without padding; `nil` when malformed.
public func decodeBase64URL(_ text: some StringProtocol) -> Data? {
    var utf8 = Array(text.utf8)
    while utf8.last == UInt8(ascii: "=") { utf8.removeLast() }
    guard utf8.count % 4 != 1, text.utf8.count - utf8.count <= 2 else { return nil }
    var out = [UInt8]()
    out.reserveCapacity(utf8.count * 3 / 4)
    var accumulator: UInt32 = 0
    var bits = 0
    for byte in utf8 {
        let value = values[Int(byte)]
        guard value != 0xFF else { return nil }
        accumulator = accumulator << 6 | UInt32(value)
        bits += 6
        if bits >= 8 {
            bits -= 8
            out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
        }
    }
    // Leftover bits must be zero (canonical encoding), as Foundation's decoder required.
    guard accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
    return Data(out)
}

/// Decodes strict base64url as JOSE writes it: only `A-Z a-z 0-9 - _`, no padding; `nil` otherwise.
public func decodeStrictBase64URL(_ text: some StringProtocol) -> Data? {
    guard
        text.utf8.allSatisfy({ byte in
            (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2D || byte == 0x5F
        })
    else { return nil }
    return decodeBase64URL(text)
}
