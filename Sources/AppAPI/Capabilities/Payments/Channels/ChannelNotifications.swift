import Crypto
import Foundation
import _CryptoExtras

/// Alipay's asynchronous notification (异步通知): a form POST signed RSA2 (SHA256withRSA) with Alipay's key.
///
/// The real channel may send GBK, adds fields such as `buyer_logon_id`, `fund_bill_list` and `gmt_create`, and writes
/// `total_amount` as the trade total in refund notices. The sandbox sends UTF-8 only and, since a notice carries no trade
/// total, writes a refund's `total_amount` equal to its `refund_fee`; for the same reason a refund is always `TRADE_SUCCESS`
/// (the decoder also accepts `TRADE_CLOSED`, which Alipay sends for a full refund).
enum AlipayWire {
    /// Alipay's seller ids are 16 digits starting 2088.
    static let sellerIDPrefix = "2088"

    /// The form-encoded notification for `notice`, signed with the channel's `signingKey`.
    static func notification(for notice: ChannelNotice, buyerID: String, signingKey: _RSA.Signing.PrivateKey) -> ChannelMessage {
        let time = ChannelCodec.chinaTime(notice.at, ChannelCodec.plainTime)
        let amount = Yuan.format(fen: max(0, notice.amountFen))
        var pairs: [(String, String)] = [
            ("notify_time", time), ("notify_type", "trade_status_sync"), ("notify_id", notice.eventID), ("app_id", notice.appID),
            ("charset", "utf-8"), ("version", "1.0"), ("sign_type", "RSA2"), ("trade_no", notice.channelTradeID),
            ("out_trade_no", notice.tradeNo),
        ]
        switch notice.kind {
        case .paid:
            pairs += [
                ("buyer_id", buyerID), ("seller_id", notice.merchantID), ("trade_status", "TRADE_SUCCESS"), ("total_amount", amount),
                ("receipt_amount", amount), ("gmt_payment", time),
            ]
        case .refunded:
            pairs += [
                ("out_biz_no", notice.refundNo ?? ""), ("buyer_id", buyerID), ("seller_id", notice.merchantID), ("trade_status", "TRADE_SUCCESS"),
                ("total_amount", amount), ("refund_fee", amount), ("gmt_refund", time),
            ]
        case .closed:
            pairs += [
                ("buyer_id", buyerID), ("seller_id", notice.merchantID), ("trade_status", "TRADE_CLOSED"), ("total_amount", amount),
                ("gmt_close", time),
            ]
        }
        let signed = ChannelCodec.signingString(
            Dictionary(pairs, uniquingKeysWith: { first, _ in first }), excluding: ["sign", "sign_type"], keepEmpty: false)
        pairs.append(("sign", ChannelCodec.sign(Array(signed.utf8), with: signingKey)))
        return ChannelMessage(contentType: "application/x-www-form-urlencoded; charset=utf-8", headers: [:], body: ChannelCodec.formEncode(pairs))
    }

    /// Parses the raw body, verifies the signature with Alipay's `publicKey`, and maps it to a notice.
    static func notice(from message: ChannelMessage, publicKey: _RSA.Signing.PublicKey) throws(ChannelWireError) -> ChannelNotice {
        let p = try ChannelCodec.formDecode(message.body)
        try ChannelCodec.expect(p["sign_type"], "sign_type", "RSA2")
        let signed = ChannelCodec.signingString(p, excluding: ["sign", "sign_type"], keepEmpty: false)
        try ChannelCodec.verify(p["sign"], over: Array(signed.utf8), with: publicKey)

        try ChannelCodec.expect(p["notify_type"], "notify_type", "trade_status_sync")
        try ChannelCodec.expect(p["charset"], "charset", "utf-8")
        let sellerID = try ChannelCodec.digits(p["seller_id"], "seller_id", count: 16)
        guard sellerID.hasPrefix(sellerIDPrefix) else { throw .malformed("seller_id not 2088…") }
        var notice = ChannelNotice(
            kind: .paid, eventID: try ChannelCodec.identifier(p["notify_id"], "notify_id", max: 128),
            tradeNo: try ChannelCodec.identifier(p["out_trade_no"], "out_trade_no"),
            channelTradeID: try ChannelCodec.identifier(p["trade_no"], "trade_no"),
            appID: try ChannelCodec.identifier(p["app_id"], "app_id"), merchantID: sellerID, amountFen: 0, refundNo: nil,
            at: Date(timeIntervalSince1970: 0))
        let status = p["trade_status"]
        if p["out_biz_no"] != nil || p["refund_fee"] != nil {
            guard status == "TRADE_SUCCESS" || status == "TRADE_CLOSED" else { throw .malformed("trade_status of a refund") }
            notice.kind = .refunded
            notice.refundNo = try ChannelCodec.identifier(p["out_biz_no"], "out_biz_no")
            notice.amountFen = try Yuan.parseFen(p["refund_fee"] ?? "")
            notice.at = try ChannelCodec.parseChinaTime(p["gmt_refund"] ?? "", ChannelCodec.plainTime, "gmt_refund")
        } else if status == "TRADE_SUCCESS" {
            notice.amountFen = try Yuan.parseFen(p["total_amount"] ?? "")
            notice.at = try ChannelCodec.parseChinaTime(p["gmt_payment"] ?? "", ChannelCodec.plainTime, "gmt_payment")
        } else if status == "TRADE_CLOSED" {
            notice.kind = .closed
            if let total = p["total_amount"] { _ = try Yuan.parseFen(total) }
            notice.at = try ChannelCodec.parseChinaTime(p["gmt_close"] ?? "", ChannelCodec.plainTime, "gmt_close")
        } else {
            throw .malformed("trade_status \(ChannelCodec.excerpt(status ?? ""))")
        }
        return notice
    }

    /// The exact body the merchant must answer for Alipay to stop resending.
    static let acknowledgement = "success"
}

/// WeChat Pay APIv3's payment and refund notifications (支付/退款结果通知): JSON whose `resource` is AES-256-GCM encrypted
/// with the merchant's APIv3 key, signed in headers with the platform key named by `Wechatpay-Serial`.
///
/// The real platform sends no notification for a closed trade (merchants learn it by querying); the sandbox sends
/// `TRANSACTION.CLOSED` with `trade_state` `CLOSED` so all three channels report closes alike. A refund's `amount.total`
/// is written equal to its `refund` (a notice carries no trade total). Only the `+08:00` offset is accepted in times.
enum WechatWire {
    private static let signatureHeader = "Wechatpay-Signature"
    private static let timestampHeader = "Wechatpay-Timestamp"
    private static let nonceHeader = "Wechatpay-Nonce"
    private static let serialHeader = "Wechatpay-Serial"

    /// The JSON notification for `notice`, its resource sealed with `apiV3Key` and its headers signed with `signingKey`.
    static func notification(
        for notice: ChannelNotice, openID: String, signingKey: _RSA.Signing.PrivateKey, serial: String, apiV3Key: SymmetricKey, timestamp: Int,
        nonce: String
    ) -> ChannelMessage {
        let j = ChannelCodec.jsonString
        let time = j(ChannelCodec.chinaTime(notice.at, ChannelCodec.rfc3339))
        let amount = max(0, notice.amountFen)
        let resource: String
        let (eventType, summary, originalType): (String, String, String)
        switch notice.kind {
        case .paid, .closed:
            let paid = notice.kind == .paid
            (eventType, summary, originalType) =
                paid ? ("TRANSACTION.SUCCESS", "支付成功", "transaction") : ("TRANSACTION.CLOSED", "交易已关闭", "transaction")
            resource =
                #"{"appid":\#(j(notice.appID)),"mchid":\#(j(notice.merchantID)),"out_trade_no":\#(j(notice.tradeNo)),"#
                + #""transaction_id":\#(j(notice.channelTradeID)),"trade_type":"APP","trade_state":\#(paid ? #""SUCCESS""# : #""CLOSED""#),"#
                + #""trade_state_desc":\#(j(summary)),"bank_type":"OTHERS","attach":"",\#(paid ? #""success_time":\#(time),"# : "")"#
                + #""payer":{"openid":\#(j(openID))},"amount":{"total":\#(amount),"payer_total":\#(amount),"currency":"CNY","payer_currency":"CNY"}}"#
        case .refunded:
            (eventType, summary, originalType) = ("REFUND.SUCCESS", "退款成功", "refund")
            let refundID = "50" + ChannelCodec.derivedDigits(27, from: notice.eventID)
            resource =
                #"{"mchid":\#(j(notice.merchantID)),"out_trade_no":\#(j(notice.tradeNo)),"transaction_id":\#(j(notice.channelTradeID)),"#
                + #""out_refund_no":\#(j(notice.refundNo ?? "")),"refund_id":\#(j(refundID)),"refund_status":"SUCCESS","success_time":\#(time),"#
                + #""user_received_account":"支付用户零钱","amount":{"total":\#(amount),"refund":\#(amount),"payer_total":\#(amount),"payer_refund":\#(amount)}}"#
        }
        // A nonce derived from everything sealed: it repeats only when the plaintext does, so GCM never reuses one.
        let gcmNonce = ChannelCodec.derivedAlphanumerics(12, from: "\(timestamp)\n\(nonce)\n\(resource)")
        var ciphertext = ""
        if let sealed = try? AES.GCM.seal(
            Array(resource.utf8), using: apiV3Key, nonce: AES.GCM.Nonce(data: Array(gcmNonce.utf8)), authenticating: Array(originalType.utf8))
        {
            ciphertext = Data(sealed.ciphertext + sealed.tag).base64EncodedString()
        }
        let body =
            #"{"id":\#(j(notice.eventID)),"create_time":\#(time),"resource_type":"encrypt-resource","event_type":\#(j(eventType)),"#
            + #""summary":\#(j(summary)),"resource":{"original_type":\#(j(originalType)),"algorithm":"AEAD_AES_256_GCM","#
            + #""ciphertext":\#(j(ciphertext)),"associated_data":\#(j(originalType)),"nonce":\#(j(gcmNonce))}}"#
        let bytes = Array(body.utf8)
        let signature = ChannelCodec.sign(signedBytes(timestamp: String(timestamp), nonce: nonce, body: bytes), with: signingKey)
        return ChannelMessage(
            contentType: "application/json",
            headers: [
                timestampHeader: String(timestamp), nonceHeader: nonce, serialHeader: serial, signatureHeader: signature,
                "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            ],
            body: bytes)
    }

    /// Verifies the headers' signature with `publicKeys[serial]`, the timestamp against `now`, opens the resource, maps to a notice.
    static func notice(
        from message: ChannelMessage, publicKeys: [String: _RSA.Signing.PublicKey], apiV3Key: SymmetricKey, now: Date, window: TimeInterval = 300
    ) throws(ChannelWireError) -> ChannelNotice {
        guard message.body.count <= ChannelCodec.maxBody else { throw .malformed("body over \(ChannelCodec.maxBody) bytes") }
        let serial = try ChannelCodec.identifier(message.header(serialHeader), serialHeader)
        let timestampText = message.header(timestampHeader)
        let timestamp = try ChannelCodec.integer(timestampText, timestampHeader)
        let nonce = try ChannelCodec.identifier(message.header(nonceHeader), nonceHeader)
        guard let key = publicKeys[serial] else { throw .unknownKey(ChannelCodec.excerpt(serial)) }
        try ChannelCodec.verify(
            message.header(signatureHeader), over: signedBytes(timestamp: timestampText ?? "", nonce: nonce, body: message.body), with: key)
        guard abs(now.timeIntervalSince1970 - TimeInterval(timestamp)) <= window else { throw .staleTimestamp }

        let envelope: Envelope
        do { envelope = try JSONDecoder().decode(Envelope.self, from: Data(message.body)) } catch { throw .malformed("body is not a notification") }
        try ChannelCodec.expect(envelope.resource_type, "resource_type", "encrypt-resource")
        try ChannelCodec.expect(envelope.resource.algorithm, "algorithm", "AEAD_AES_256_GCM")
        let kind: ChannelNotice.Kind
        switch (envelope.event_type, envelope.resource.original_type) {
        case ("TRANSACTION.SUCCESS", "transaction"): kind = .paid
        case ("TRANSACTION.CLOSED", "transaction"): kind = .closed
        case ("REFUND.SUCCESS", "refund"): kind = .refunded
        default: throw .malformed("event_type \(ChannelCodec.excerpt(envelope.event_type))")
        }
        let eventID = try ChannelCodec.identifier(envelope.id, "id")
        let created = try ChannelCodec.parseChinaTime(envelope.create_time, ChannelCodec.rfc3339, "create_time")
        let plaintext = try open(envelope.resource, with: apiV3Key)

        if kind == .refunded {
            let refund: Refund
            do { refund = try JSONDecoder().decode(Refund.self, from: plaintext) } catch { throw .malformed("resource is not a refund") }
            try ChannelCodec.expect(refund.refund_status, "refund_status", "SUCCESS")
            return ChannelNotice(
                kind: .refunded, eventID: eventID, tradeNo: try ChannelCodec.identifier(refund.out_trade_no, "out_trade_no"),
                channelTradeID: try ChannelCodec.identifier(refund.transaction_id, "transaction_id"), appID: "",
                merchantID: try ChannelCodec.identifier(refund.mchid, "mchid"), amountFen: try fen(refund.amount.refund, "amount.refund"),
                refundNo: try ChannelCodec.identifier(refund.out_refund_no, "out_refund_no"),
                at: try ChannelCodec.parseChinaTime(refund.success_time, ChannelCodec.rfc3339, "success_time"))
        }
        let transaction: Transaction
        do { transaction = try JSONDecoder().decode(Transaction.self, from: plaintext) } catch { throw .malformed("resource is not a transaction") }
        try ChannelCodec.expect(transaction.trade_state, "trade_state", kind == .paid ? "SUCCESS" : "CLOSED")
        let total = try fen(transaction.amount.total, "amount.total")
        return ChannelNotice(
            kind: kind, eventID: eventID, tradeNo: try ChannelCodec.identifier(transaction.out_trade_no, "out_trade_no"),
            channelTradeID: try ChannelCodec.identifier(transaction.transaction_id, "transaction_id"),
            appID: try ChannelCodec.identifier(transaction.appid, "appid"), merchantID: try ChannelCodec.identifier(transaction.mchid, "mchid"),
            amountFen: kind == .paid ? total : 0, refundNo: nil,
            at: kind == .paid ? try ChannelCodec.parseChinaTime(transaction.success_time ?? "", ChannelCodec.rfc3339, "success_time") : created)
    }

    /// The header timestamp and nonce, for the server's replay guard; nil when either is missing or malformed.
    static func replayFields(of message: ChannelMessage) -> (timestamp: Int, nonce: String)? {
        guard let timestamp = try? ChannelCodec.integer(message.header(timestampHeader), timestampHeader),
            let nonce = message.header(nonceHeader), ChannelCodec.isIdentifier(nonce)
        else { return nil }
        return (timestamp, nonce)
    }

    /// What WeChat signs: `timestamp\nnonce\nbody\n`, over the body's exact bytes.
    private static func signedBytes(timestamp: String, nonce: String, body: [UInt8]) -> [UInt8] {
        Array("\(timestamp)\n\(nonce)\n".utf8) + body + [0x0A]
    }

    private static func open(_ resource: Envelope.Resource, with key: SymmetricKey) throws(ChannelWireError) -> Data {
        let nonce = Array(resource.nonce.utf8)
        guard nonce.count == 12 else { throw .malformed("resource nonce not 12 characters") }
        guard resource.ciphertext.utf8.count <= ChannelCodec.maxBody, let sealed = Data(base64Encoded: resource.ciphertext), sealed.count >= 16 else {
            throw .malformed("resource ciphertext not base64")
        }
        guard let gcmNonce = try? AES.GCM.Nonce(data: nonce),
            let box = try? AES.GCM.SealedBox(nonce: gcmNonce, ciphertext: sealed.dropLast(16), tag: sealed.suffix(16)),
            let plaintext = try? AES.GCM.open(box, using: key, authenticating: Array((resource.associated_data ?? "").utf8))
        else { throw .badSignature }
        return plaintext
    }

    private static func fen(_ value: Int, _ name: String) throws(ChannelWireError) -> Int {
        guard (0...99_999_999_999_999).contains(value) else { throw .malformed("\(name) out of range") }
        return value
    }

    // The JSON as WeChat spells it; snake_case names keep the mapping visible.
    // swift-format-ignore: AlwaysUseLowerCamelCase
    private struct Envelope: Decodable {
        struct Resource: Decodable {
            var original_type: String
            var algorithm: String
            var ciphertext: String
            var associated_data: String?
            var nonce: String
        }
        var id: String
        var create_time: String
        var resource_type: String
        var event_type: String
        var resource: Resource
    }

    // swift-format-ignore: AlwaysUseLowerCamelCase
    private struct Transaction: Decodable {
        struct Amount: Decodable { var total: Int }
        var appid: String
        var mchid: String
        var out_trade_no: String
        var transaction_id: String
        var trade_state: String
        var success_time: String?
        var amount: Amount
    }

    // swift-format-ignore: AlwaysUseLowerCamelCase
    private struct Refund: Decodable {
        struct Amount: Decodable { var refund: Int }
        var mchid: String
        var out_trade_no: String
        var transaction_id: String
        var out_refund_no: String
        var refund_status: String
        var success_time: String
        var amount: Amount
    }
}

/// UnionPay online gateway (全渠道 5.1.0) back-URL notifications (后台通知): a form POST signed SHA256withRSA over the hex
/// SHA-256 of the sorted parameters. UnionPay stops resending on HTTP 200.
///
/// Each refund (04) and cancel (31) is its own UnionPay transaction with its own `queryId`, and `origQryId` names the
/// consume; so `channelTradeID` is `queryId` for a consume and `origQryId` otherwise, and the event id is `queryId` with the
/// transaction type appended for refunds and cancels. The real channel names the signing certificate by sending
/// `signPubKeyCert`, verified up to UnionPay's root; the sandbox looks the key up by `certId`. A refund's `orderId` is our
/// refund number, so our trade number rides in `reqReserved`, which UnionPay echoes verbatim; a cancel reuses our trade
/// number as its `orderId`. When the notice's event id is not of UnionPay's shape, the refund's `queryId` is derived from it.
enum UnionPayWire {
    private static let signedExcluding: Set<String> = ["signature"]
    /// UnionPay's queryIds are 21 digits; up to 32 are read so that trade ids minted in other shapes still travel.
    static let queryIDDigits = 1...32

    /// The form-encoded back notification for `notice`, signed with the channel's `signingKey` named by `certID`.
    static func notification(for notice: ChannelNotice, signingKey: _RSA.Signing.PrivateKey, certID: String) -> ChannelMessage {
        let txnType: String
        switch notice.kind {
        case .paid: txnType = "01"
        case .refunded: txnType = "04"
        case .closed: txnType = "31"
        }
        var pairs: [(String, String)] = [
            ("version", "5.1.0"), ("encoding", "UTF-8"), ("signMethod", "01"), ("txnType", txnType),
            ("txnSubType", notice.kind == .paid ? "01" : "00"),
            ("bizType", "000201"), ("accessType", "0"), ("merId", notice.merchantID),
        ]
        switch notice.kind {
        case .paid:
            pairs += [("orderId", notice.tradeNo), ("queryId", notice.channelTradeID)]
        case .refunded:
            pairs += [
                ("orderId", notice.refundNo ?? ""), ("queryId", ownQueryID(notice, txnType)), ("origQryId", notice.channelTradeID),
                ("reqReserved", notice.tradeNo),
            ]
        case .closed:
            pairs += [("orderId", notice.tradeNo), ("queryId", ownQueryID(notice, txnType)), ("origQryId", notice.channelTradeID)]
        }
        pairs += [
            ("txnTime", ChannelCodec.chinaTime(notice.at, "yyyyMMddHHmmss")), ("traceTime", ChannelCodec.chinaTime(notice.at, "MMddHHmmss")),
            ("traceNo", ChannelCodec.derivedDigits(6, from: notice.eventID)), ("txnAmt", String(max(0, notice.amountFen))), ("currencyCode", "156"),
            ("respCode", "00"), ("respMsg", "成功[0000000]"), ("certId", certID),
        ]
        pairs.append(("signature", ChannelCodec.sign(digestHex(Dictionary(pairs, uniquingKeysWith: { first, _ in first })), with: signingKey)))
        return ChannelMessage(contentType: "application/x-www-form-urlencoded; charset=UTF-8", headers: [:], body: ChannelCodec.formEncode(pairs))
    }

    /// Parses the raw body, verifies it with `publicKeys[certId]`, and maps it to a notice.
    static func notice(from message: ChannelMessage, publicKeys: [String: _RSA.Signing.PublicKey]) throws(ChannelWireError) -> ChannelNotice {
        let p = try ChannelCodec.formDecode(message.body)
        try ChannelCodec.expect(p["signMethod"], "signMethod", "01")
        let certID = try ChannelCodec.identifier(p["certId"], "certId")
        guard let key = publicKeys[certID] else { throw .unknownKey(ChannelCodec.excerpt(certID)) }
        try ChannelCodec.verify(p["signature"], over: digestHex(p), with: key)

        try ChannelCodec.expect(p["version"], "version", "5.1.0")
        try ChannelCodec.expect(p["encoding"], "encoding", "UTF-8")
        try ChannelCodec.expect(p["bizType"], "bizType", "000201")
        try ChannelCodec.expect(p["currencyCode"], "currencyCode", "156")
        try ChannelCodec.expect(p["respCode"], "respCode", "00")
        let queryID = try ChannelCodec.digits(p["queryId"], "queryId", count: UnionPayWire.queryIDDigits)
        let orderID = try orderNumber(p["orderId"], "orderId")
        var notice = ChannelNotice(
            kind: .paid, eventID: queryID, tradeNo: orderID, channelTradeID: queryID, appID: "",
            merchantID: try ChannelCodec.digits(p["merId"], "merId", count: 15), amountFen: try ChannelCodec.integer(p["txnAmt"], "txnAmt"),
            refundNo: nil, at: try ChannelCodec.parseChinaTime(p["txnTime"] ?? "", "yyyyMMddHHmmss", "txnTime"))
        switch p["txnType"] {
        case "01":
            break
        case "04":
            notice.kind = .refunded
            notice.eventID = queryID + "04"
            notice.channelTradeID = try ChannelCodec.digits(p["origQryId"], "origQryId", count: UnionPayWire.queryIDDigits)
            notice.tradeNo = try orderNumber(p["reqReserved"], "reqReserved")
            notice.refundNo = orderID
        case "31":
            notice.kind = .closed
            notice.eventID = queryID + "31"
            notice.channelTradeID = try ChannelCodec.digits(p["origQryId"], "origQryId", count: UnionPayWire.queryIDDigits)
            notice.amountFen = 0
        default:
            throw .malformed("txnType \(ChannelCodec.excerpt(p["txnType"] ?? ""))")
        }
        return notice
    }

    /// The refund's or cancel's own queryId: the one in an event id of UnionPay's shape, else one derived from the event id.
    private static func ownQueryID(_ notice: ChannelNotice, _ txnType: String) -> String {
        let id = notice.eventID
        if id.utf8.count == 23, id.hasSuffix(txnType), id.utf8.prefix(21).allSatisfy(ChannelCodec.isDigit) { return String(id.prefix(21)) }
        return ChannelCodec.derivedDigits(21, from: id)
    }

    /// UnionPay order numbers: 1…40 letters and digits (the real gateway wants at least 8).
    private static func orderNumber(_ value: String?, _ name: String) throws(ChannelWireError) -> String {
        guard let value, (1...40).contains(value.utf8.count), value.utf8.allSatisfy(ChannelCodec.isAlphanumeric)
        else { throw .malformed("\(name) not 1…40 letters and digits") }
        return value
    }

    /// What UnionPay signs: the lowercase hex SHA-256 of every parameter but `signature`, sorted, as `k=v&…`.
    private static func digestHex(_ parameters: [String: String]) -> [UInt8] {
        let text = ChannelCodec.signingString(parameters, excluding: signedExcluding, keepEmpty: true)
        return Array(SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined().utf8)
    }
}
