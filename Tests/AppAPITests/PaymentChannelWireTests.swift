import Crypto
import Foundation
import Testing
import _CryptoExtras

@testable import AppAPI

/// The three channels' wire formats and bills: round trips, tampering, hostile bytes.
@Suite struct PaymentChannelWireTests {}

/// Keys made once per run: RSA-2048 generation is the slow part of these tests.
private enum Keys {
    static let channel = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let other = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let apiV3 = SymmetricKey(data: Array("0123456789abcdef0123456789ABCDEF".utf8))
}

private let at = Date(timeIntervalSince1970: 1_733_115_845)  // 2024-12-02 13:04:05 China time

private func notice(_ kind: ChannelNotice.Kind, eventID: String, channelTradeID: String, appID: String, merchantID: String) -> ChannelNotice {
    ChannelNotice(
        kind: kind, eventID: eventID, tradeNo: "T20241202abc123", channelTradeID: channelTradeID, appID: appID, merchantID: merchantID,
        amountFen: kind == .paid ? 1234 : kind == .refunded ? 500 : 0, refundNo: kind == .refunded ? "R20241202xyz9" : nil, at: at)
}

/// Runs a decoder and returns its error, nil when it decoded.
private func failure(_ decode: () throws -> ChannelNotice) -> ChannelWireError? {
    do {
        _ = try decode()
        return nil
    } catch let error as ChannelWireError {
        return error
    } catch {
        Issue.record("not a ChannelWireError: \(error)")
        return nil
    }
}

private func isMalformed(_ error: ChannelWireError?) -> Bool {
    if case .malformed = error { return true }
    return false
}

/// The body with the first occurrence of `old` replaced by `new`.
private func replacing(_ body: [UInt8], _ old: String, _ new: String) -> [UInt8] {
    let text = String(decoding: body, as: UTF8.self)
    #expect(text.contains(old), "\(old) not in the body")
    guard let range = text.range(of: old) else { return body }
    return Array(text.replacingCharacters(in: range, with: new).utf8)
}

private func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

// MARK: Yuan

extension PaymentChannelWireTests {
    @Test func yuanFormats() {
        #expect(Yuan.format(fen: 1234) == "12.34")
        #expect(Yuan.format(fen: 5) == "0.05")
        #expect(Yuan.format(fen: 100) == "1.00")
        #expect(Yuan.format(fen: 0) == "0.00")
        #expect(Yuan.format(fen: 10) == "0.10")
        #expect(Yuan.format(fen: 99_999_999_999_999) == "999999999999.99")
    }

    @Test func yuanParses() throws {
        let table: [(String, Int)] = [
            ("12.34", 1234), ("12.3", 1230), ("12", 1200), ("0.05", 5), ("0", 0), ("007.1", 710), ("999999999999.99", 99_999_999_999_999),
        ]
        for (text, fen) in table { #expect(try Yuan.parseFen(text) == fen, "\(text)") }
    }

    @Test func yuanRejects() {
        let rejects = [
            "", "-1", "1e3", "1.234", " 1", "1 ", "+1", "0x1", "１２", "1234567890123", ".5", "1.", "1..2", "1.2.3", "1,00", "12.3a", "NaN", "∞",
            "1\u{0}",
            "٣",
        ]
        for text in rejects {
            #expect(throws: ChannelWireError.self, "\(text)") { try Yuan.parseFen(text) }
        }
    }

    @Test func chinaTimeRoundTripsAndRejectsImpossibleDates() throws {
        #expect(ChannelCodec.chinaTime(at, ChannelCodec.plainTime) == "2024-12-02 13:04:05")
        #expect(ChannelCodec.chinaTime(at, ChannelCodec.rfc3339) == "2024-12-02T13:04:05+08:00")
        #expect(try ChannelCodec.parseChinaTime("2024-12-02 13:04:05", ChannelCodec.plainTime, "t") == at)
        #expect(try ChannelCodec.parseChinaTime("2024-02-29 00:00:00", ChannelCodec.plainTime, "t") == Date(timeIntervalSince1970: 1_709_136_000))
        for bad in [
            "2023-02-29 00:00:00", "2024-13-01 00:00:00", "2024-12-02 24:00:00", "2024-12-02 13:04", "2024-12-02T13:04:05", "２024-12-02 13:04:05",
        ] {
            #expect(throws: ChannelWireError.self, "\(bad)") { try ChannelCodec.parseChinaTime(bad, ChannelCodec.plainTime, "t") }
        }
    }
}

// MARK: Alipay

private func alipayNotice(_ kind: ChannelNotice.Kind) -> ChannelNotice {
    notice(
        kind, eventID: "2024120200222130405123456789", channelTradeID: "2024120222001400001234567890", appID: "2021000000000001",
        merchantID: "2088000000000001")
}

private func alipay(_ kind: ChannelNotice.Kind, key: _RSA.Signing.PrivateKey = Keys.channel) -> ChannelMessage {
    AlipayWire.notification(for: alipayNotice(kind), buyerID: "2088102122524333", signingKey: key)
}

extension PaymentChannelWireTests {
    @Test(arguments: [ChannelNotice.Kind.paid, .refunded, .closed])
    func alipayRoundTrips(kind: ChannelNotice.Kind) throws {
        let message = alipay(kind)
        #expect(message.contentType == "application/x-www-form-urlencoded; charset=utf-8")
        #expect(try AlipayWire.notice(from: message, publicKey: Keys.channel.publicKey) == alipayNotice(kind))
    }

    @Test func alipayWritesTheRealFields() throws {
        let p = try ChannelCodec.formDecode(alipay(.paid).body)
        #expect(p["notify_type"] == "trade_status_sync")
        #expect(p["total_amount"] == "12.34")
        #expect(p["gmt_payment"] == "2024-12-02 13:04:05")
        #expect(p["trade_status"] == "TRADE_SUCCESS")
        let refund = try ChannelCodec.formDecode(alipay(.refunded).body)
        #expect(refund["refund_fee"] == "5.00")
        #expect(refund["out_biz_no"] == "R20241202xyz9")
        #expect(try ChannelCodec.formDecode(alipay(.closed).body)["trade_status"] == "TRADE_CLOSED")
    }

    @Test func alipayRejectsTampering() {
        var message = alipay(.paid)
        message.body = replacing(message.body, "out_trade_no=T2024", "out_trade_no=T2025")
        #expect(failure { try AlipayWire.notice(from: message, publicKey: Keys.channel.publicKey) } == .badSignature)

        var cheaper = alipay(.paid)
        cheaper.body = replacing(cheaper.body, "total_amount=12.34", "total_amount=0.01")
        #expect(failure { try AlipayWire.notice(from: cheaper, publicKey: Keys.channel.publicKey) } == .badSignature)

        #expect(failure { try AlipayWire.notice(from: alipay(.paid, key: Keys.other), publicKey: Keys.channel.publicKey) } == .badSignature)
    }

    @Test func alipayRejectsARepeatedParameter() {
        var message = alipay(.paid)
        message.body += Array("&total_amount=0.01".utf8)
        #expect(isMalformed(failure { try AlipayWire.notice(from: message, publicKey: Keys.channel.publicKey) }))
    }

    @Test func alipayRejectsGarbage() {
        let key = Keys.channel.publicKey
        let samples: [[UInt8]] = [
            [], Array("%FF=1".utf8), Array("a=%C3%28".utf8), Array("a=%4".utf8), Array("noequals".utf8), [0xFF, 0xFE, 0x00],
            Array(repeating: UInt8(ascii: "a"), count: ChannelCodec.maxBody + 1),
        ]
        for body in samples {
            #expect(isMalformed(failure { try AlipayWire.notice(from: ChannelMessage(contentType: "", headers: [:], body: body), publicKey: key) }))
        }
        for _ in 0..<300 {
            let body = randomBytes(Int.random(in: 0...600))
            _ = failure { try AlipayWire.notice(from: ChannelMessage(contentType: "", headers: [:], body: body), publicKey: key) }
        }
    }

    @Test func alipaySurvivesMutations() {
        let valid = alipay(.refunded)
        for _ in 0..<300 {
            var message = valid
            for _ in 0..<Int.random(in: 1...4) { message.body[Int.random(in: 0..<message.body.count)] = UInt8.random(in: 0...255) }
            _ = failure { try AlipayWire.notice(from: message, publicKey: Keys.channel.publicKey) }
        }
    }
}

// MARK: WeChat

private let wechatNow = 1_733_115_900

private func wechatNotice(_ kind: ChannelNotice.Kind) -> ChannelNotice {
    notice(
        kind, eventID: "EV-2018-06-08T10:34:56+08:00-\(kind.rawValue)", channelTradeID: "4200000123202412021234567890",
        appID: kind == .refunded ? "" : "wx0000000000000001", merchantID: "1900000001")
}

private func wechat(
    _ kind: ChannelNotice.Kind, key: _RSA.Signing.PrivateKey = Keys.channel, timestamp: Int = wechatNow, apiV3Key: SymmetricKey = Keys.apiV3
) -> ChannelMessage {
    WechatWire.notification(
        for: wechatNotice(kind), openID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", signingKey: key, serial: "5157F09EFDC096DE15EBE81A47057A72",
        apiV3Key: apiV3Key, timestamp: timestamp, nonce: "593BEC0C930BF1AFEB40B4A08C8FB242")
}

private func decodeWechat(_ message: ChannelMessage, now: Int = wechatNow) throws(ChannelWireError) -> ChannelNotice {
    try WechatWire.notice(
        from: message, publicKeys: ["5157F09EFDC096DE15EBE81A47057A72": Keys.channel.publicKey], apiV3Key: Keys.apiV3,
        now: Date(timeIntervalSince1970: TimeInterval(now)))
}

/// The message with `body`, signed again by the channel as if it had sent it.
private func resigned(_ message: ChannelMessage, body: [UInt8]) -> ChannelMessage {
    var message = message
    message.body = body
    let signed = Array("\(message.headers["Wechatpay-Timestamp"] ?? "")\n\(message.headers["Wechatpay-Nonce"] ?? "")\n".utf8) + body + [0x0A]
    message.headers["Wechatpay-Signature"] = ChannelCodec.sign(signed, with: Keys.channel)
    return message
}

extension PaymentChannelWireTests {
    @Test(arguments: [ChannelNotice.Kind.paid, .refunded, .closed])
    func wechatRoundTrips(kind: ChannelNotice.Kind) throws {
        let message = wechat(kind)
        #expect(message.headers["Wechatpay-Serial"] == "5157F09EFDC096DE15EBE81A47057A72")
        #expect(try decodeWechat(message) == wechatNotice(kind))
        let json = try JSONSerialization.jsonObject(with: Data(message.body)) as? [String: Any]
        #expect(json?["resource_type"] as? String == "encrypt-resource")
        #expect(json?["create_time"] as? String == "2024-12-02T13:04:05+08:00")
    }

    @Test func wechatReadsHeadersWhateverTheirCase() throws {
        var message = wechat(.paid)
        message.headers = Dictionary(uniqueKeysWithValues: message.headers.map { ($0.key.lowercased(), $0.value) })
        #expect(try decodeWechat(message) == wechatNotice(.paid))
        #expect(WechatWire.replayFields(of: message)?.nonce == "593BEC0C930BF1AFEB40B4A08C8FB242")
        #expect(WechatWire.replayFields(of: message)?.timestamp == wechatNow)
        #expect(WechatWire.replayFields(of: ChannelMessage(contentType: "", headers: [:], body: [])) == nil)
    }

    @Test func wechatRejectsTampering() {
        var message = wechat(.paid)
        message.body[12] ^= 0x01
        #expect(failure { try decodeWechat(message) } == .badSignature)
        #expect(failure { try decodeWechat(wechat(.paid, key: Keys.other)) } == .badSignature)

        var unknown = wechat(.paid)
        unknown.headers["Wechatpay-Serial"] = "0000"
        #expect(failure { try decodeWechat(unknown) } == .unknownKey("0000"))
    }

    @Test func wechatChecksTheTimestampWindow() throws {
        #expect(failure { try decodeWechat(wechat(.paid), now: wechatNow + 301) } == .staleTimestamp)
        #expect(failure { try decodeWechat(wechat(.paid), now: wechatNow - 301) } == .staleTimestamp)
        #expect(try decodeWechat(wechat(.paid), now: wechatNow + 299) == wechatNotice(.paid))
        #expect(try decodeWechat(wechat(.paid), now: wechatNow - 299) == wechatNotice(.paid))
    }

    @Test func wechatRejectsATamperedResource() throws {
        let message = wechat(.refunded)
        let json = String(decoding: message.body, as: UTF8.self)
        let start = try #require(json.range(of: #""ciphertext":""#)).upperBound
        var body = Array(json.utf8)
        let offset = json.utf8.distance(from: json.startIndex, to: start)
        body[offset + 4] = body[offset + 4] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(failure { try decodeWechat(resigned(message, body: body)) } == .badSignature)

        let associated = replacing(message.body, #""associated_data":"refund""#, #""associated_data":"transaction""#)
        #expect(failure { try decodeWechat(resigned(message, body: associated)) } == .badSignature)
        #expect(failure { try decodeWechat(wechat(.paid, apiV3Key: SymmetricKey(size: .bits256))) } == .badSignature)
    }

    @Test func wechatRejectsGarbage() {
        let template = wechat(.paid)
        let samples: [[UInt8]] = [[], [0xFF, 0xFE, 0xFD], Array("{}".utf8), Array("[[[[[[[[[[".utf8), Array(#"{"id":1}"#.utf8)]
        for body in samples {
            #expect(isMalformed(failure { try decodeWechat(resigned(template, body: body)) }))
        }
        var missing = template
        missing.headers["Wechatpay-Timestamp"] = "12a"
        #expect(isMalformed(failure { try decodeWechat(missing) }))
        var oversized = template
        oversized.body = Array(repeating: 0x20, count: ChannelCodec.maxBody + 1)
        #expect(isMalformed(failure { try decodeWechat(oversized) }))
        for _ in 0..<100 {
            let body = randomBytes(Int.random(in: 0...400))
            #expect(isMalformed(failure { try decodeWechat(resigned(template, body: body)) }))
        }
    }
}

// MARK: UnionPay

private func unionPayNotice(_ kind: ChannelNotice.Kind) -> ChannelNotice {
    let consume = "771202412021304051234"
    let eventID = kind == .paid ? consume : "771202412021304059999" + (kind == .refunded ? "04" : "31")
    return notice(kind, eventID: eventID, channelTradeID: consume, appID: "", merchantID: "777290058110001")
}

private func unionPay(_ notice: ChannelNotice, key: _RSA.Signing.PrivateKey = Keys.channel) -> ChannelMessage {
    UnionPayWire.notification(for: notice, signingKey: key, certID: "69629715588")
}

private func decodeUnionPay(_ message: ChannelMessage) throws(ChannelWireError) -> ChannelNotice {
    try UnionPayWire.notice(from: message, publicKeys: ["69629715588": Keys.channel.publicKey])
}

extension PaymentChannelWireTests {
    @Test(arguments: [ChannelNotice.Kind.paid, .refunded, .closed])
    func unionPayRoundTrips(kind: ChannelNotice.Kind) throws {
        #expect(try decodeUnionPay(unionPay(unionPayNotice(kind))) == unionPayNotice(kind))
    }

    @Test func unionPayGivesEachRefundItsOwnStableEventID() throws {
        var first = unionPayNotice(.refunded)
        first.eventID = "771202412021304051234-R1"
        var second = first
        second.eventID = "771202412021304051234-R2"
        let decoded = try decodeUnionPay(unionPay(first))
        #expect(decoded.eventID.count == 23 && decoded.eventID.hasSuffix("04"))
        #expect(try decodeUnionPay(unionPay(first)).eventID == decoded.eventID)
        #expect(try decodeUnionPay(unionPay(second)).eventID != decoded.eventID)
        #expect(decoded.channelTradeID == "771202412021304051234")
    }

    @Test func unionPayRejectsTampering() {
        var message = unionPay(unionPayNotice(.paid))
        message.body = replacing(message.body, "txnAmt=1234", "txnAmt=1")
        #expect(failure { try decodeUnionPay(message) } == .badSignature)
        #expect(failure { try decodeUnionPay(unionPay(unionPayNotice(.paid), key: Keys.other)) } == .badSignature)
        let unknown = UnionPayWire.notification(for: unionPayNotice(.paid), signingKey: Keys.channel, certID: "1")
        #expect(failure { try decodeUnionPay(unknown) } == .unknownKey("1"))
    }

    @Test func unionPayRejectsGarbage() {
        for body in [[], [0xC0, 0xAF], Array("certId=69629715588&certId=1".utf8), Array("signMethod=01&certId=%FF".utf8)] as [[UInt8]] {
            #expect(isMalformed(failure { try decodeUnionPay(ChannelMessage(contentType: "", headers: [:], body: body)) }))
        }
        for _ in 0..<300 {
            let body = randomBytes(Int.random(in: 0...600))
            _ = failure { try decodeUnionPay(ChannelMessage(contentType: "", headers: [:], body: body)) }
        }
    }
}

// MARK: Bills

private let billLines = [
    ChannelBillLine(kind: .payment, tradeNo: "T1", channelTradeID: "771202412021304051234", refundNo: nil, amountFen: 1234, at: at),
    ChannelBillLine(
        kind: .payment, tradeNo: "T2", channelTradeID: "771202412021304055678", refundNo: nil, amountFen: 5, at: at.addingTimeInterval(60)),
    ChannelBillLine(
        kind: .refund, tradeNo: "T1", channelTradeID: "771202412021304051234", refundNo: "R1", amountFen: 234, at: at.addingTimeInterval(120)),
]

extension PaymentChannelWireTests {
    @Test func billsRoundTrip() throws {
        #expect(try AlipayBill.decode(AlipayBill.encode(billLines, day: "2024-12-02")) == billLines)
        #expect(try WechatBill.decode(WechatBill.encode(billLines, day: "2024-12-02", appID: "wx01", merchantID: "1900000001")) == billLines)
        #expect(try UnionPayBill.decode(UnionPayBill.encode(billLines, day: "2024-12-02", merchantID: "777290058110001")) == billLines)
        #expect(try AlipayBill.decode(AlipayBill.encode([], day: "2024-12-02")) == [])
        #expect(try WechatBill.decode(WechatBill.encode([], day: "2024-12-02", appID: "wx01", merchantID: "1900000001")) == [])
        #expect(try UnionPayBill.decode(UnionPayBill.encode([], day: "2024-12-02", merchantID: "777290058110001")) == [])
    }

    @Test func billsWriteTheChannelsShapes() {
        let alipay = AlipayBill.encode(billLines, day: "2024-12-02")
        #expect(alipay.contains("771202412021304051234,T1,退款,"))
        #expect(alipay.contains(",-2.34,-2.34,"))
        #expect(alipay.contains("#交易合计：2笔，商家实收：12.39元"))
        #expect(alipay.contains("#起始日期：[2024年12月02日 00:00:00]   终止日期：[2024年12月03日 00:00:00]"))
        let wechat = WechatBill.encode(billLines, day: "2024-12-02", appID: "wx01", merchantID: "1900000001")
        #expect(wechat.hasPrefix(WechatBill.columns.joined(separator: ",") + "\r\n`2024-12-02 13:04:05,`wx01,`1900000001,"))
        #expect(wechat.hasSuffix("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`3,`12.39,`2.34,`0.00,`0.00000,`12.39,`2.34\r\n"))
        let unionPay = UnionPayBill.encode(billLines, day: "2024-12-02", merchantID: "777290058110001")
        #expect(unionPay.hasPrefix("H|777290058110001|20241202|3\nD|01|20241202130405|777290058110001|T1||771202412021304051234||1234|156|00\n"))
        #expect(unionPay.hasSuffix("T|2|1239|1|234\n"))
    }

    @Test func billsRejectBadAmounts() {
        let alipay = AlipayBill.encode(billLines, day: "2024-12-02")
        #expect(throws: ChannelWireError.self) { try AlipayBill.decode(alipay.replacingOccurrences(of: ",12.34,12.34,", with: ",12.345,12.34,")) }
        #expect(throws: ChannelWireError.self) { try AlipayBill.decode(alipay.replacingOccurrences(of: ",-2.34,-2.34,", with: ",2.34,2.34,")) }
        #expect(throws: ChannelWireError.self) { try AlipayBill.decode(alipay.replacingOccurrences(of: ",0.05,0.05,", with: ",1e3,0.05,")) }
        let wechat = WechatBill.encode(billLines, day: "2024-12-02", appID: "wx01", merchantID: "1900000001")
        #expect(throws: ChannelWireError.self) { try WechatBill.decode(wechat.replacingOccurrences(of: "`12.34,", with: "`-12.34,")) }
        // The summary no longer adds up.
        #expect(throws: ChannelWireError.self) { try WechatBill.decode(wechat.replacingOccurrences(of: "`12.34,", with: "`12.35,")) }
        #expect(throws: ChannelWireError.self) { try WechatBill.decode(wechat.replacingOccurrences(of: ",`APP,", with: ",APP,")) }
        let unionPay = UnionPayBill.encode(billLines, day: "2024-12-02", merchantID: "777290058110001")
        #expect(throws: ChannelWireError.self) { try UnionPayBill.decode(unionPay.replacingOccurrences(of: "|1234|", with: "|12.34|")) }
        #expect(throws: ChannelWireError.self) { try UnionPayBill.decode(unionPay.replacingOccurrences(of: "|1234|", with: "|1235|")) }
    }

    @Test func billsRejectWrongHeaders() {
        let alipay = AlipayBill.encode(billLines, day: "2024-12-02")
        #expect(throws: ChannelWireError.self) { try AlipayBill.decode(alipay.replacingOccurrences(of: "订单金额（元）", with: "金额")) }
        #expect(throws: ChannelWireError.self) { try AlipayBill.decode(alipay.replacingOccurrences(of: "业务明细列表结束", with: "")) }
        let wechat = WechatBill.encode(billLines, day: "2024-12-02", appID: "wx01", merchantID: "1900000001")
        #expect(throws: ChannelWireError.self) { try WechatBill.decode(wechat.replacingOccurrences(of: "交易时间,", with: "时间,")) }
        #expect(throws: ChannelWireError.self) { try WechatBill.decode(String(wechat.dropLast(60))) }
        let unionPay = UnionPayBill.encode(billLines, day: "2024-12-02", merchantID: "777290058110001")
        #expect(throws: ChannelWireError.self) { try UnionPayBill.decode(unionPay.replacingOccurrences(of: "H|", with: "X|")) }
        #expect(throws: ChannelWireError.self) { try UnionPayBill.decode(unionPay.replacingOccurrences(of: "|20241202|3", with: "|20241202|4")) }
    }

    @Test func billsRejectGarbageAndHugeInput() {
        let huge = String(repeating: "x\n", count: BillCodec.maxLines + 1)
        #expect(throws: ChannelWireError.self) { try AlipayBill.decode(huge) }
        #expect(throws: ChannelWireError.self) { try WechatBill.decode(huge) }
        #expect(throws: ChannelWireError.self) { try UnionPayBill.decode(huge) }
        for _ in 0..<200 {
            let text = String(decoding: randomBytes(Int.random(in: 0...400)), as: UTF8.self)
            #expect(throws: ChannelWireError.self) { try AlipayBill.decode(text) }
            #expect(throws: ChannelWireError.self) { try WechatBill.decode(text) }
            #expect(throws: ChannelWireError.self) { try UnionPayBill.decode(text) }
        }
    }
}
