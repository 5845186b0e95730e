import Crypto
import Foundation
import SQLKit
import SyncCore
import Synchronization
import _CryptoExtras

/// The sandbox merchant identities (`seeds/payment-channels.json`): obviously fake, never real merchants.
struct SandboxMerchants: Codable, Sendable {
    struct Alipay: Codable, Sendable {
        var appId: String
        var sellerId: String
    }
    struct Wechat: Codable, Sendable {
        var appId: String
        var mchId: String
    }
    struct UnionPay: Codable, Sendable { var merId: String }
    var alipay: Alipay
    var wechat: Wechat
    var unionpay: UnionPay

    static let fallback = SandboxMerchants(
        alipay: .init(appId: "2021000000000001", sellerId: "2088000000000001"), wechat: .init(appId: "wx0000000000000001", mchId: "1900000001"),
        unionpay: .init(merId: "777290058110001"))

    static func load(from seeds: URL) -> SandboxMerchants {
        guard let data = try? Data(contentsOf: seeds.appendingPathComponent("payment-channels.json")),
            let merchants = try? JSONDecoder().decode(SandboxMerchants.self, from: data)
        else { return .fallback }
        return merchants
    }
}

/// Fault injection for one confirmation: what the sandbox channel does with the notification it owes.
struct SandboxDelivery: Sendable, Hashable {
    /// Extra copies of the notification, delivered at once (a channel's genuine duplicates).
    var duplicates = 0
    /// Never delivered: the platform must find the payment by querying.
    var lose = false
    /// Held back this long before the first attempt (lets a later event overtake it).
    var delaySeconds = 0
}

/// A simulated payment channel — the channel's side: its own key pair (the platform holds only the public key), its
/// trades, refunds and notifications, resent on the channel's schedule until acknowledged, and its daily bill.
/// Dev mode and tests only. It keeps its state in the server's database (its `sandbox_*` tables), and delivers its
/// notifications in-process to the same handler `POST /v1/payments/notify/{channel}` runs, with the exact bytes and
/// headers an HTTP delivery would carry.
struct SandboxChannel: PaymentChannelAPI {
    let channel: PaymentChannel
    let merchants: SandboxMerchants
    let keys: SandboxKeys
    let runtime: Runtime
    /// Divides every resend delay (tests compress Alipay's 25 hours).
    var timeScale: Double = 1

    var merchant: (appID: String, merchantID: String) {
        switch channel {
        case .alipay: (merchants.alipay.appId, merchants.alipay.sellerId)
        case .wechat: (merchants.wechat.appId, merchants.wechat.mchId)
        case .unionpay: ("", merchants.unionpay.merId)
        }
    }

    /// The channel's resend schedule after the first attempt, in seconds.
    var schedule: [Int] {
        switch channel {
        // Alipay: 4m, 10m, 10m, 1h, 2h, 6h, 15h — 8 attempts over about 25 hours.
        case .alipay: [240, 600, 600, 3600, 7200, 21600, 54000]
        // WeChat Pay: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h (24 h 4 m).
        case .wechat: [15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600]
        // UnionPay's back-URL notification: resent at growing intervals for about half an hour.
        case .unionpay: [60, 120, 240, 480, 960]
        }
    }

    // MARK: PaymentChannelAPI

    func prepay(tradeNo: String, amountFen: Int, subject: String, expiresAt: Int64, on db: any SQLDatabase) async throws -> [String: String] {
        let channelTradeID = Self.channelTradeID(channel, runtime.nowMillis)
        try await db.insert(into: "sandbox_trades")
            .columns("channel", "trade_no", "channel_trade_id", "amount_fen", "state", "refunded_fen", "created_at", "paid_at")
            .values(
                SQLBind(channel.rawValue), SQLBind(tradeNo), SQLBind(channelTradeID), SQLBind(amountFen), SQLBind("WAIT"), SQLBind(0),
                SQLBind(runtime.nowMillis), SQLBind(Int64?.none)
            )
            .run()
        let confirm = "/sandbox/\(channel.rawValue)/trades/\(tradeNo)/confirm"
        switch channel {
        case .alipay:
            let order =
                "app_id=\(merchants.alipay.appId)&method=alipay.trade.app.pay&out_trade_no=\(tradeNo)&total_amount=\(Yuan.format(fen: amountFen))"
            return ["orderStr": order, "confirmPath": confirm]
        case .wechat:
            return [
                "appid": merchants.wechat.appId, "partnerid": merchants.wechat.mchId, "prepayid": "wx" + channelTradeID.suffix(24),
                "package": "Sign=WXPay", "noncestr": String(runtime.newID().prefix(16)), "timestamp": String(runtime.nowMillis / 1000),
                "confirmPath": confirm,
            ]
        case .unionpay:
            return ["tn": channelTradeID, "confirmPath": confirm]
        }
    }

    func query(tradeNo: String, on db: any SQLDatabase) async throws -> ChannelNotice? {
        guard let trade = try await trade(tradeNo, on: db) else { return nil }
        switch trade.state {
        case "SUCCESS", "REFUND": return notice(.paid, trade: trade, eventID: trade.channelTradeID)
        case "CLOSED": return notice(.closed, trade: trade, eventID: trade.channelTradeID + "-closed")
        default: return nil
        }
    }

    func close(tradeNo: String, on db: any SQLDatabase) async throws -> ChannelNotice? {
        guard let trade = try await trade(tradeNo, locking: true, on: db) else { return nil }
        if trade.state == "SUCCESS" || trade.state == "REFUND" { return notice(.paid, trade: trade, eventID: trade.channelTradeID) }
        try await db.update("sandbox_trades").set("state", to: "CLOSED").where("channel", .equal, channel.rawValue).where("trade_no", .equal, tradeNo)
            .where("state", .equal, "WAIT").run()
        return nil
    }

    func refund(tradeNo: String, refundNo: String, amountFen: Int, on db: any SQLDatabase) async throws {
        guard let trade = try await trade(tradeNo, locking: true, on: db), trade.state == "SUCCESS" || trade.state == "REFUND" else {
            throw AppError(.orderNotRefundable, "The channel has no paid trade \(tradeNo).")
        }
        guard trade.refundedFen + amountFen <= trade.amountFen else {
            throw AppError(.refundExceedsAvailable, "The channel refuses: the refunds would exceed the trade.")
        }
        let inserted = try await db.raw(
            """
            INSERT INTO sandbox_refunds (channel, refund_no, trade_no, amount_fen, at)
            VALUES (\(bind: channel.rawValue), \(bind: refundNo), \(bind: tradeNo), \(bind: amountFen), \(bind: runtime.nowMillis))
            ON CONFLICT (channel, refund_no) DO NOTHING RETURNING refund_no
            """
        ).first()
        guard inserted != nil else { return }
        try await db.update("sandbox_trades").set("refunded_fen", to: trade.refundedFen + amountFen).set("state", to: "REFUND")
            .where("channel", .equal, channel.rawValue).where("trade_no", .equal, tradeNo).run()
        var refund = notice(.refunded, trade: trade, eventID: "\(trade.channelTradeID)-\(refundNo)")
        refund.amountFen = amountFen
        refund.refundNo = refundNo
        try await enqueue(refund, delivery: .init(), on: db)
    }

    // MARK: The payer's side and the channel's own routes

    /// The payment app saying "paid" (or "declined"): the trade succeeds and its notification is queued, with the
    /// faults asked for. `afterClose`: the payer finished just as the platform closed the trade, and the channel
    /// counted the payment anyway (the race every channel documents).
    func confirm(tradeNo: String, declined: Bool, afterClose: Bool, delivery: SandboxDelivery, on db: any SQLDatabase) async throws -> String {
        guard let trade = try await trade(tradeNo, locking: true, on: db) else { throw AppError.notFound("No \(channel.rawValue) trade \(tradeNo).") }
        guard trade.state == "WAIT" || (afterClose && trade.state == "CLOSED") else {
            throw AppError(.orderNotPayable, "The trade is \(trade.state).")
        }
        let state = declined ? "CLOSED" : "SUCCESS"
        try await db.update("sandbox_trades").set("state", to: state).set("paid_at", to: declined ? nil : runtime.nowMillis)
            .where("channel", .equal, channel.rawValue).where("trade_no", .equal, tradeNo).run()
        var settled = trade
        settled.state = state
        let event =
            declined
            ? notice(.closed, trade: settled, eventID: trade.channelTradeID + "-closed")
            : notice(.paid, trade: settled, eventID: trade.channelTradeID)
        try await enqueue(event, delivery: delivery, on: db)
        return state
    }

    /// The trades and refunds of `day` (China time), as the channel's daily bill.
    func bill(day: String, on db: any SQLDatabase) async throws -> String {
        guard let start = WorkingCalendar.startOfDayMillis(day) else { throw AppError.invalidParameter("date", "a YYYY-MM-DD date") }
        let end = start + 86_400_000
        var lines: [ChannelBillLine] = []
        for row in try await db.raw(
            """
            SELECT trade_no, channel_trade_id, amount_fen, paid_at FROM sandbox_trades
            WHERE channel = \(bind: channel.rawValue) AND paid_at >= \(bind: start) AND paid_at < \(bind: end) ORDER BY paid_at, trade_no
            """
        ).all() {
            lines.append(
                ChannelBillLine(
                    kind: .payment, tradeNo: try row.decode(column: "trade_no", as: String.self),
                    channelTradeID: try row.decode(column: "channel_trade_id", as: String.self), refundNo: nil,
                    amountFen: try row.decode(column: "amount_fen", as: Int.self), at: Self.date(try row.decode(column: "paid_at", as: Int64.self))))
        }
        for row in try await db.raw(
            """
            SELECT r.trade_no, t.channel_trade_id, r.refund_no, r.amount_fen, r.at FROM sandbox_refunds r
            JOIN sandbox_trades t ON t.channel = r.channel AND t.trade_no = r.trade_no
            WHERE r.channel = \(bind: channel.rawValue) AND r.at >= \(bind: start) AND r.at < \(bind: end) ORDER BY r.at, r.refund_no
            """
        ).all() {
            lines.append(
                ChannelBillLine(
                    kind: .refund, tradeNo: try row.decode(column: "trade_no", as: String.self),
                    channelTradeID: try row.decode(column: "channel_trade_id", as: String.self),
                    refundNo: try row.decode(column: "refund_no", as: String.self), amountFen: try row.decode(column: "amount_fen", as: Int.self),
                    at: Self.date(try row.decode(column: "at", as: Int64.self))))
        }
        switch channel {
        case .alipay: return AlipayBill.encode(lines, day: day)
        case .wechat: return WechatBill.encode(lines, day: day, appID: merchants.wechat.appId, merchantID: merchants.wechat.mchId)
        case .unionpay: return UnionPayBill.encode(lines, day: day, merchantID: merchants.unionpay.merId)
        }
    }

    static func decodeBill(_ text: String, channel: PaymentChannel) throws -> [ChannelBillLine] {
        do {
            switch channel {
            case .alipay: return try AlipayBill.decode(text)
            case .wechat: return try WechatBill.decode(text)
            case .unionpay: return try UnionPayBill.decode(text)
            }
        } catch {
            throw AppError(.internalError, "The \(channel.rawValue) bill could not be read: \(error).")
        }
    }

    // MARK: Notifications

    private func enqueue(_ notice: ChannelNotice, delivery: SandboxDelivery, on db: any SQLDatabase) async throws {
        let json = String(decoding: try JSONEncoder().encode(notice), as: UTF8.self)
        let now = runtime.nowMillis
        let first = now + Int64(max(0, min(delivery.delaySeconds, 86_400))) * 1000
        for copy in 0...max(0, min(delivery.duplicates, 100)) {
            try await db.insert(into: "sandbox_deliveries")
                .columns("id", "channel", "event_id", "notice", "attempts", "next_at", "state", "created_at")
                .values(
                    SQLBind("dlv_" + runtime.newID()), SQLBind(channel.rawValue), SQLBind(notice.eventID), SQLBind(json), SQLBind(0),
                    SQLBind(first), SQLBind(delivery.lose && copy == 0 ? "lost" : "pending"), SQLBind(now)
                )
                .run()
            if delivery.lose { break }
        }
    }

    /// The message of a notice as this channel sends it, signed with its private key.
    func message(for notice: ChannelNotice, on database: any Database) async throws -> ChannelMessage {
        let key = try await keys.channelKey(channel, on: database)
        switch channel {
        case .alipay:
            return AlipayWire.notification(for: notice, buyerID: "2088102122524333", signingKey: key.privateKey)
        case .wechat:
            return WechatWire.notification(
                for: notice, openID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", signingKey: key.privateKey, serial: key.keyID,
                apiV3Key: key.apiKey ?? SymmetricKey(size: .bits256), timestamp: Int(runtime.nowMillis / 1000),
                nonce: String(runtime.newID().filter { $0.isLetter || $0.isNumber }.prefix(32)))
        case .unionpay:
            return UnionPayWire.notification(for: notice, signingKey: key.privateKey, certID: key.keyID)
        }
    }

    /// Whether the platform's answer stops this channel's resends.
    func acknowledges(status: Int, body: String) -> Bool {
        switch channel {
        case .alipay: status == 200 && body == AlipayWire.acknowledgement
        case .wechat, .unionpay: (200...299).contains(status)
        }
    }

    // MARK: Rows

    struct Trade: Sendable {
        var tradeNo: String
        var channelTradeID: String
        var amountFen: Int
        var refundedFen: Int
        var state: String
        var paidAt: Int64?
    }

    private func trade(_ tradeNo: String, locking: Bool = false, on db: any SQLDatabase) async throws -> Trade? {
        guard
            let row = try await db.raw(
                """
                SELECT trade_no, channel_trade_id, amount_fen, refunded_fen, state, paid_at FROM sandbox_trades
                WHERE channel = \(bind: channel.rawValue) AND trade_no = \(bind: tradeNo)\(unsafeRaw: locking ? db.forUpdate : "")
                """
            ).first()
        else { return nil }
        return Trade(
            tradeNo: try row.decode(column: "trade_no", as: String.self), channelTradeID: try row.decode(column: "channel_trade_id", as: String.self),
            amountFen: try row.decode(column: "amount_fen", as: Int.self), refundedFen: try row.decode(column: "refunded_fen", as: Int.self),
            state: try row.decode(column: "state", as: String.self), paidAt: try row.decode(column: "paid_at", as: Int64?.self))
    }

    private func notice(_ kind: ChannelNotice.Kind, trade: Trade, eventID: String) -> ChannelNotice {
        ChannelNotice(
            kind: kind, eventID: eventID, tradeNo: trade.tradeNo, channelTradeID: trade.channelTradeID,
            appID: kind == .refunded && channel == .wechat ? "" : merchant.appID,
            merchantID: merchant.merchantID, amountFen: kind == .paid ? trade.amountFen : 0, refundNo: nil,
            at: Self.date(trade.paidAt ?? runtime.nowMillis))
    }

    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis / 1000)) }

    /// A channel trade id of the channel's shape: Alipay 28 digits from the date, WeChat 28 digits from 4200,
    /// UnionPay's 21-digit queryId.
    static func channelTradeID(_ channel: PaymentChannel, _ now: Int64) -> String {
        let digits = (0..<24).map { _ in String(Int.random(in: 0...9)) }.joined()
        let day = WorkingCalendar.day(fromMillis: now).replacingOccurrences(of: "-", with: "")
        switch channel {
        case .alipay: return day + String(digits.prefix(20))
        case .wechat: return "4200" + String(digits.prefix(24))
        case .unionpay: return String(digits.prefix(21))
        }
    }
}

/// The sandbox channels' key pairs, created on first use: the private key stays in the channel's table, the public
/// key (and WeChat's shared APIv3 key) goes to the platform's `payment_channel_keys`. Never in a file, never logged.
final class SandboxKeys: Sendable {
    struct Key: Sendable {
        var keyID: String
        var privateKey: _RSA.Signing.PrivateKey
        var apiKey: SymmetricKey?
    }

    private let cache = Mutex<[PaymentChannel: Key]>([:])
    /// One generated key pair per channel and process: RSA generation takes long on an unoptimised build and blocks a
    /// thread while it runs, so a process that opens many databases (the tests) draws each channel's key once.
    private static let generated = Mutex<[PaymentChannel: _RSA.Signing.PrivateKey]>([:])

    private static func generatedKey(_ channel: PaymentChannel) throws -> _RSA.Signing.PrivateKey {
        if let key = generated.withLock({ $0[channel] }) { return key }
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        return generated.withLock { keys in
            if let first = keys[channel] { return first }
            keys[channel] = key
            return key
        }
    }

    func channelKey(_ channel: PaymentChannel, on database: any Database) async throws -> Key {
        if let key = cache.withLock({ $0[channel] }) { return key }
        let key = try await database.transaction { db in try await Self.ensure(channel, runtime: Clock.nowMillis(), on: db) }
        cache.withLock { $0[channel] = key }
        return key
    }

    private static func ensure(_ channel: PaymentChannel, runtime now: Int, on db: any SQLDatabase) async throws -> Key {
        if let row = try await db.select().columns("key_id", "private_pem", "api_key").from("sandbox_channel_keys")
            .where("channel", .equal, channel.rawValue).first()
        {
            return try key(row)
        }
        let privateKey = try generatedKey(channel)
        let keyID = "\(channel.rawValue)-" + String(UInt64.random(in: 0...UInt64.max), radix: 16, uppercase: true)
        let apiKey = channel == .wechat ? Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString() : nil
        try await db.raw(
            """
            INSERT INTO sandbox_channel_keys (channel, key_id, private_pem, api_key, created_at)
            VALUES (\(bind: channel.rawValue), \(bind: keyID), \(bind: privateKey.pemRepresentation), \(bind: apiKey), \(bind: now))
            ON CONFLICT (channel) DO NOTHING
            """
        ).run()
        guard
            let row = try await db.select().columns("key_id", "private_pem", "api_key").from("sandbox_channel_keys")
                .where("channel", .equal, channel.rawValue).first()
        else { throw AppError.internalError }
        let stored = try key(row)
        try await db.raw(
            """
            INSERT INTO payment_channel_keys (channel, key_id, public_pem, api_key, created_at)
            VALUES (\(bind: channel.rawValue), \(bind: stored.keyID), \(bind: stored.privateKey.publicKey.pemRepresentation),
                    \(bind: try row.decode(column: "api_key", as: String?.self)), \(bind: now))
            ON CONFLICT (channel, key_id) DO NOTHING
            """
        ).run()
        return stored
    }

    private static func key(_ row: any SQLRow) throws -> Key {
        let apiKey = try row.decode(column: "api_key", as: String?.self).flatMap { Data(base64Encoded: $0) }.map { SymmetricKey(data: $0) }
        return Key(
            keyID: try row.decode(column: "key_id", as: String.self),
            privateKey: try _RSA.Signing.PrivateKey(pemRepresentation: try row.decode(column: "private_pem", as: String.self)), apiKey: apiKey)
    }
}
