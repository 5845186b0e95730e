import Crypto
import Foundation
import _CryptoExtras

/// What a channel says happened to one trade or one refund, decoded from its wire format.
struct ChannelNotice: Codable, Equatable, Sendable {
    /// The three outcomes the platform acts on.
    enum Kind: String, Codable, Sendable { case paid, refunded, closed }
    var kind: Kind
    /// The channel's own id of this event, constant across resends (Alipay `notify_id`, WeChat's notification `id`,
    /// UnionPay `queryId`, with the transaction type appended for refunds and cancels).
    var eventID: String
    /// Our trade number (Alipay and WeChat `out_trade_no`, UnionPay `orderId`).
    var tradeNo: String
    /// The channel's trade id (Alipay `trade_no`, WeChat `transaction_id`, UnionPay `queryId` of the consume).
    var channelTradeID: String
    /// Alipay `app_id`, WeChat `appid`; empty for UnionPay, which has no app id, and for WeChat refunds, which carry none.
    var appID: String
    /// Alipay `seller_id` (2088…), WeChat `mchid`, UnionPay `merId`.
    var merchantID: String
    /// Integer fen: the trade total for `paid`, this refund's amount for `refunded`, 0 for `closed`.
    var amountFen: Int
    /// Our refund number for `refunded` (Alipay `out_biz_no`, WeChat `out_refund_no`, UnionPay `orderId` of the refund).
    var refundNo: String?
    /// When the channel says it happened, in whole seconds.
    var at: Date
}

/// A channel message as it travels: the exact body bytes and the headers that matter.
struct ChannelMessage: Equatable, Sendable {
    var contentType: String
    /// Header names exactly as the channel spells them (`Wechatpay-Signature`); read through `header(_:)`, which ignores case.
    var headers: [String: String]
    var body: [UInt8]

    /// The value of header `name`, compared case-insensitively as HTTP does.
    func header(_ name: String) -> String? {
        headers.first { $0.key.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// Why a channel message was refused; each case maps to a stable problem code the server reports.
enum ChannelWireError: Error, Equatable, Sendable {
    /// Unparsable, or a missing or out-of-range field (the message names it).
    case malformed(String)
    /// The signature does not verify over the bytes (for WeChat also: the resource fails GCM authentication).
    case badSignature
    /// Signed with a key (WeChat serial, UnionPay certId) that is not among the known keys.
    case unknownKey(String)
    /// A WeChat timestamp outside the accepted window.
    case staleTimestamp
}

/// Money as channels write it: yuan with at most two decimals, parsed and formatted without floating point.
enum Yuan {
    /// At most 12 integer digits: far above any real payment, far below `Int.max` fen.
    static let maxIntegerDigits = 12

    /// `1234` → `"12.34"`, `5` → `"0.05"`, `100` → `"1.00"`.
    static func format(fen: Int) -> String {
        precondition(fen >= 0, "Yuan.format takes a non-negative amount")
        let cents = fen % 100
        return "\(fen / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// `"12.34"` → `1234`, `"12.3"` → `1230`, `"12"` → `1200`; ASCII digits only, no sign, no exponent, no spaces.
    static func parseFen(_ text: String) throws(ChannelWireError) -> Int {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxIntegerDigits + 3 else { throw .malformed("amount too long") }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, (1...maxIntegerDigits).contains(whole.count), whole.allSatisfy(ChannelCodec.isDigit)
        else { throw .malformed("amount \(ChannelCodec.excerpt(text))") }
        var fen = whole.reduce(0) { $0 * 10 + Int($1 - 0x30) } * 100
        if parts.count == 2 {
            let fraction = parts[1]
            guard (1...2).contains(fraction.count), fraction.allSatisfy(ChannelCodec.isDigit) else {
                throw .malformed("amount \(ChannelCodec.excerpt(text))")
            }
            let digits = fraction.map { Int($0 - 0x30) }
            fen += digits[0] * 10 + (digits.count == 2 ? digits[1] : 0)
        }
        return fen
    }
}

/// The pieces the channels' formats share: form encoding, SHA256withRSA, China-time timestamps and field checks.
enum ChannelCodec {
    /// The largest notification body any decoder reads.
    static let maxBody = 16 * 1024
    /// The most parameters a form may carry; real notifications have about 30.
    static let maxParameters = 64

    static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }

    static func isAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }

    /// A short, printable piece of hostile input for an error message.
    static func excerpt(_ text: String) -> String {
        String(text.unicodeScalars.prefix(32).map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    }

    // MARK: Forms

    /// `application/x-www-form-urlencoded` of the pairs, in the given order, UTF-8 percent-encoded.
    static func formEncode(_ pairs: [(String, String)]) -> [UInt8] {
        Array(pairs.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&").utf8)
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._*")

    private static func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// The form's parameters: percent-decoded, `+` as space, strict UTF-8, each name at most once, bounded in size and count.
    static func formDecode(_ body: [UInt8]) throws(ChannelWireError) -> [String: String] {
        guard body.count <= maxBody else { throw .malformed("body over \(maxBody) bytes") }
        guard !body.isEmpty else { throw .malformed("empty body") }
        var parameters: [String: String] = [:]
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { throw .malformed("a parameter without '='") }
            let name = try decodeComponent(pair[pair.startIndex..<equals])
            let value = try decodeComponent(pair[pair.index(after: equals)...])
            guard !name.isEmpty else { throw .malformed("a parameter without a name") }
            guard parameters[name] == nil else { throw .malformed("parameter \(excerpt(name)) repeated") }
            parameters[name] = value
            guard parameters.count <= maxParameters else { throw .malformed("more than \(maxParameters) parameters") }
        }
        return parameters
    }

    private static func decodeComponent(_ bytes: ArraySlice<UInt8>) throws(ChannelWireError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(0x20)
            } else if byte == UInt8(ascii: "%") {
                guard bytes.endIndex - index >= 3, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) else {
                    throw .malformed("bad percent escape")
                }
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw .malformed("not UTF-8") }
        return text
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    /// The parameters other than `excluded`, sorted by name (byte order), joined `k=v&…` with raw values.
    static func signingString(_ parameters: [String: String], excluding excluded: Set<String>, keepEmpty: Bool) -> String {
        parameters.filter { !excluded.contains($0.key) && (keepEmpty || !$0.value.isEmpty) }
            .sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            .map { "\($0.key)=\($0.value)" }.joined(separator: "&")
    }

    // MARK: Fields

    /// A required identifier: 1…`max` bytes of printable ASCII, as every channel's ids are.
    static func identifier(_ value: String?, _ name: String, max: Int = 64) throws(ChannelWireError) -> String {
        guard let value, isIdentifier(value, max: max) else { throw .malformed("\(name) missing or not an id") }
        return value
    }

    static func isIdentifier(_ value: String, max: Int = 64) -> Bool {
        (1...max).contains(value.utf8.count) && value.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// A required field of exactly `count` ASCII digits.
    static func digits(_ value: String?, _ name: String, count: Int) throws(ChannelWireError) -> String {
        try digits(value, name, count: count...count)
    }

    /// A required field of ASCII digits, as many as `count` allows.
    static func digits(_ value: String?, _ name: String, count: ClosedRange<Int>) throws(ChannelWireError) -> String {
        guard let value, count.contains(value.utf8.count), value.utf8.allSatisfy(isDigit) else { throw .malformed("\(name) not \(count) digits") }
        return value
    }

    /// A required field that must equal `expected`.
    static func expect(_ value: String?, _ name: String, _ expected: String) throws(ChannelWireError) {
        guard value == expected else { throw .malformed("\(name) is not \(expected)") }
    }

    /// A strict non-negative integer: ASCII digits only, no sign, at most 14 digits.
    static func integer(_ value: String?, _ name: String) throws(ChannelWireError) -> Int {
        guard let value, (1...14).contains(value.utf8.count), value.utf8.allSatisfy(isDigit), let number = Int(value) else {
            throw .malformed("\(name) not an integer")
        }
        return number
    }

    /// `count` decimal digits derived from `seed`: a stable stand-in for an id the sandbox channel would assign.
    static func derivedDigits(_ count: Int, from seed: String) -> String { derived(count, from: seed, alphabet: Array("0123456789")) }

    /// `count` letters and digits derived from `seed`, for nonces that must differ whenever the seed does.
    static func derivedAlphanumerics(_ count: Int, from seed: String) -> String {
        derived(count, from: seed, alphabet: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
    }

    private static func derived(_ count: Int, from seed: String, alphabet: [Character]) -> String {
        var out = ""
        var block = 0
        while out.count < count {
            for byte in SHA256.hash(data: Array("\(block):\(seed)".utf8)) where out.count < count {
                out.append(alphabet[Int(byte) % alphabet.count])
            }
            block += 1
        }
        return out
    }

    /// A JSON string literal of `text`, quotes included.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    // MARK: Signatures

    /// Base64 of SHA256withRSA (PKCS #1 v1.5) over `bytes`.
    static func sign(_ bytes: [UInt8], with key: _RSA.Signing.PrivateKey) -> String {
        // Signing a digest with a well-formed key does not fail; were it to, the empty signature would simply not verify.
        ((try? key.signature(for: SHA256.hash(data: bytes), padding: .insecurePKCS1v1_5))?.rawRepresentation ?? Data()).base64EncodedString()
    }

    /// Checks a base64 SHA256withRSA (PKCS #1 v1.5) signature over `bytes`.
    static func verify(_ signature: String?, over bytes: [UInt8], with key: _RSA.Signing.PublicKey) throws(ChannelWireError) {
        guard let signature, signature.utf8.count <= 2048, let raw = Data(base64Encoded: signature), !raw.isEmpty else { throw .badSignature }
        let valid = key.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: raw), for: SHA256.hash(data: bytes), padding: .insecurePKCS1v1_5)
        guard valid else { throw .badSignature }
    }

    // MARK: China time

    /// China time: Asia/Shanghai has been a fixed UTC+08:00 since 1991.
    static let chinaOffset = 8 * 3600

    /// `date` in China time, written by `pattern`: `yyyy`, `MM`, `dd`, `HH`, `mm`, `ss` are fields, everything else literal.
    static func chinaTime(_ date: Date, _ pattern: String) -> String {
        let interval = date.timeIntervalSince1970
        let seconds = interval.isFinite ? Int(max(-1e11, min(1e11, interval)).rounded(.down)) + chinaOffset : 0
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let clock = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        let values: [Character: Int] = ["y": year, "M": month, "d": day, "H": clock / 3600, "m": clock / 60 % 60, "s": clock % 60]
        var out = ""
        for token in tokens(pattern) {
            switch token {
            case .field(let letter, let width):
                let text = String(values[letter] ?? 0)
                out += String(repeating: "0", count: max(0, width - text.count)) + text
            case .literal(let character):
                out.append(character)
            }
        }
        return out
    }

    /// Reads exactly `pattern` (as `chinaTime` writes it) in China time; rejects anything else, impossible dates included.
    static func parseChinaTime(_ text: String, _ pattern: String, _ name: String) throws(ChannelWireError) -> Date {
        var characters = Substring(text)
        var values: [Character: Int] = [:]
        for token in tokens(pattern) {
            switch token {
            case .field(let letter, let width):
                let field = characters.prefix(width)
                guard field.count == width, field.utf8.allSatisfy(isDigit), let number = Int(field) else {
                    throw .malformed("\(name) not \(pattern)")
                }
                values[letter] = number
                characters = characters.dropFirst(width)
            case .literal(let character):
                guard characters.first == character else { throw .malformed("\(name) not \(pattern)") }
                characters = characters.dropFirst()
            }
        }
        guard characters.isEmpty, let year = values["y"], let month = values["M"], let day = values["d"], (1900...9999).contains(year),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { throw .malformed("\(name) not \(pattern)") }
        let (hour, minute, second) = (values["H"] ?? 0, values["m"] ?? 0, values["s"] ?? 0)
        guard hour < 24, minute < 60, second < 60 else { throw .malformed("\(name) not \(pattern)") }
        let seconds = days(fromCivil: year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - chinaOffset
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// RFC 3339 with the +08:00 offset, as WeChat writes times.
    static let rfc3339 = "yyyy-MM-ddTHH:mm:ss+08:00"
    /// Alipay's and the bills' `yyyy-MM-dd HH:mm:ss`.
    static let plainTime = "yyyy-MM-dd HH:mm:ss"

    private enum Token {
        case field(Character, Int)
        case literal(Character)
    }

    private static func tokens(_ pattern: String) -> [Token] {
        var tokens: [Token] = []
        var rest = Substring(pattern)
        while let first = rest.first {
            let width = first == "y" ? 4 : 2
            if "yMdHms".contains(first), rest.prefix(width).allSatisfy({ $0 == first }), rest.count >= width {
                tokens.append(.field(first, width))
                rest = rest.dropFirst(width)
            } else {
                tokens.append(.literal(first))
                rest = rest.dropFirst()
            }
        }
        return tokens
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's civil-from-days algorithms: exact proleptic Gregorian, no Calendar, no locale.
    private static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
