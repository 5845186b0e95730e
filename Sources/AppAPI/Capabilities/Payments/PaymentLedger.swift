import Foundation
import SQLKit
import SyncCore

/// What a paid order sets off outside Payments, wired at the composition root: its e-receipt in the payer's wallet and
/// its case moving on. Both run inside the transaction that marks the order paid, so they happen exactly when it does.
struct PaymentEffects: Sendable {
    /// Issues the e-receipt (电子票据) of a paid order; returns its license id and records (`nil`: issued already).
    var issueReceipt: @Sendable (_ order: PaymentOrder, _ db: any SQLDatabase) async throws -> (licenseID: String, records: [ChangeRecord])?
    /// Moves the order's case on from `awaiting_payment`.
    var casePaid: @Sendable (_ caseID: String, _ order: PaymentOrder, _ db: any SQLDatabase) async throws -> [ChangeRecord]

    static let none = PaymentEffects(issueReceipt: { _, _ in nil }, casePaid: { _, _, _ in [] })
}

/// Every money move of an order, each in the caller's transaction with the order's row locked first: starting a
/// trade, applying what a channel says (exactly once, whatever order and however often it says it), refunds, and
/// closing. Each fen in or out is one `payment_ledger` row whose key (`pay:<trade>`, `refund:<refund>`) cannot repeat.
struct PaymentLedger: Sendable {
    let orders: PaymentOrderStore
    let channels: PaymentChannels
    let effects: PaymentEffects
    let runtime: Runtime

    /// A channel trade stays payable this long (or until the order expires, if sooner).
    static let tradeLifetimeMillis: Int64 = 30 * 60_000

    // MARK: Paying

    /// Starts a new trade of `order` on `channel`; returns the trade number and the prepay parameters.
    func startTrade(_ orderID: String, channel: PaymentChannel, on db: any SQLDatabase) async throws -> (
        order: PaymentOrder, tradeNo: String, prepay: [String: String], records: [ChangeRecord]
    ) {
        let api = try channels.api(channel)
        guard let order = try await orders.lock(orderID, on: db) else { throw AppError.notFound("No payment order \(orderID).") }
        guard order.state.isPayable else {
            throw AppError(.orderNotPayable, "The order is \(order.state.label) (\(order.state.rawValue)); it cannot be paid.")
        }
        let now = runtime.nowMillis
        guard now < order.expiresAt else { throw AppError(.orderExpired, "The order expired; open a new one.") }
        let tradeNo = "T" + String(runtime.newID().filter { $0.isLetter || $0.isNumber }.prefix(30))
        let prepay = try await api.prepay(
            tradeNo: tradeNo, amountFen: order.totalFen, subject: order.title, expiresAt: min(order.expiresAt, now + Self.tradeLifetimeMillis),
            on: db)
        try await db.insert(into: "payment_trades")
            .columns("trade_no", "order_id", "channel", "amount_fen", "state", "channel_trade_id", "counted", "created_at", "settled_at")
            .values(
                SQLBind(tradeNo), SQLBind(order.id), SQLBind(channel.rawValue), SQLBind(order.totalFen), SQLBind("paying"), SQLBind(String?.none),
                SQLBind(0), SQLBind(now), SQLBind(Int64?.none)
            )
            .run()
        var next = order
        next.state = .paying
        next.channel = channel
        next.tradeNo = tradeNo
        return (next, tradeNo, prepay, try await orders.save(next, from: order, on: db))
    }

    // MARK: What channels say

    /// The outcome of applying one notice.
    enum Outcome: Equatable, Sendable {
        /// The order moved (or a refund settled).
        case applied
        /// Seen before: acknowledged, nothing changed.
        case duplicate
        /// A success that could not count: the order was paid by another trade, or closed; refunded automatically.
        case surplusRefunded
        /// The notice disagrees with the trade (amount): the order needs review.
        case flagged
    }

    /// Applies a verified notice of `channel` exactly once. Throws `AppError` for a notice that names no trade of ours
    /// or another merchant.
    func apply(_ notice: ChannelNotice, channel: PaymentChannel, eventID: String?, on db: any SQLDatabase) async throws -> (
        outcome: Outcome, records: [ChangeRecord]
    ) {
        let api = try channels.api(channel)
        guard notice.merchantID == api.merchant.merchantID, notice.appID.isEmpty || notice.appID == api.merchant.appID else {
            throw AppError(.notificationRejected, "The notice is for another merchant.")
        }
        if let eventID {
            let fresh = try await db.raw(
                """
                INSERT INTO payment_events (channel, event_id, trade_no, kind, received_at)
                VALUES (\(bind: channel.rawValue), \(bind: eventID), \(bind: notice.tradeNo), \(bind: notice.kind.rawValue), \(bind: runtime.now()))
                ON CONFLICT (channel, event_id) DO NOTHING RETURNING event_id
                """
            ).first()
            if fresh == nil { return (.duplicate, []) }
        }
        guard let trade = try await tradeRow(notice.tradeNo, on: db), trade.channel == channel else {
            throw AppError(.notFound, "No \(channel.rawValue) trade \(notice.tradeNo).")
        }
        // The order first, then its trade, in every path: two notices of one order never deadlock.
        guard let order = try await orders.lock(trade.orderID, on: db) else { throw AppError(.notFound, "No order for \(notice.tradeNo).") }
        guard let current = try await tradeRow(notice.tradeNo, locking: true, on: db) else { throw AppError(.notFound, "No trade.") }
        switch notice.kind {
        case .paid: return try await paid(notice, trade: current, order: order, api: api, on: db)
        case .refunded: return try await refunded(notice, order: order, on: db)
        case .closed: return try await closed(trade: current, order: order, on: db)
        }
    }

    private func paid(_ notice: ChannelNotice, trade: TradeRow, order: PaymentOrder, api: any PaymentChannelAPI, on db: any SQLDatabase) async throws
        -> (outcome: Outcome, records: [ChangeRecord])
    {
        guard trade.state == "paying" || trade.state == "closed" || trade.state == "failed" else { return (.duplicate, []) }
        let now = runtime.nowMillis
        var next = order
        guard notice.amountFen == trade.amountFen else {
            try await setTrade(trade.tradeNo, state: "mismatch", channelTradeID: notice.channelTradeID, counted: false, on: db)
            guard order.state.canMove(to: .needsReview) else { return (.flagged, []) }
            next.state = .needsReview
            next.reviewReason = "amount_mismatch: the channel reports \(notice.amountFen) fen for a \(trade.amountFen) fen trade"
            return (.flagged, try await orders.save(next, from: order, on: db))
        }
        // Whether this success can pay the order: it is still payable, or it expired without being closed and the
        // payer finished before the deadline (a success at the moment of expiry counts).
        let payable = order.state.isPayable && notice.at.millis <= order.expiresAt + 60_000
        if payable {
            try await setTrade(trade.tradeNo, state: "success", channelTradeID: notice.channelTradeID, counted: true, on: db)
            try await enter(
                "pay:\(trade.tradeNo)", order: order, channel: trade.channel, kind: "payment", tradeNo: trade.tradeNo, refundNo: nil,
                amount: notice.amountFen, on: db)
            next.state = .paid
            next.paidAt = now
            next.channel = trade.channel
            next.tradeNo = trade.tradeNo
            var records: [ChangeRecord] = []
            if let receipt = try await effects.issueReceipt(next, db) {
                next.receiptLicenseId = receipt.licenseID
                records += receipt.records
            }
            records = try await orders.save(next, from: order, on: db) + records
            if let caseID = next.caseId { records += try await effects.casePaid(caseID, next, db) }
            records.append(try message(next, title: "缴费成功：\(next.title)", body: paidMessage(next)))
            return (.applied, records)
        }
        // A second success on a paid order (or one already under review): recorded uncounted beside the payment and
        // returned in full.
        if order.state.wasPaid || order.state == .needsReview {
            try await setTrade(trade.tradeNo, state: "success", channelTradeID: notice.channelTradeID, counted: false, on: db)
            try await enter(
                "pay:\(trade.tradeNo)", order: order, channel: trade.channel, kind: "surplus_payment", tradeNo: trade.tradeNo,
                refundNo: nil, amount: notice.amountFen, on: db)
            try await requestRefund(
                order: order, tradeNo: trade.tradeNo, channel: trade.channel, amount: notice.amountFen, reason: "second_success_refunded",
                automatic: true, surplus: true, by: nil, api: api, on: db)
            next.reviewReason = "second_success_refunded"
            var records = try await orders.save(next, from: order, on: db)
            records.append(
                try message(next, title: "重复缴费将自动退回：\(next.title)", body: "您的一笔 \(Yuan.format(fen: notice.amountFen)) 元重复付款已原路退回。"))
            return (.surplusRefunded, records)
        }
        // A success after the order closed (expired or cancelled): the money came in, so it is entered, the order
        // needs review and the whole amount goes back automatically.
        try await setTrade(trade.tradeNo, state: "success", channelTradeID: notice.channelTradeID, counted: true, on: db)
        try await enter(
            "pay:\(trade.tradeNo)", order: order, channel: trade.channel, kind: "payment", tradeNo: trade.tradeNo, refundNo: nil,
            amount: notice.amountFen, on: db)
        try await requestRefund(
            order: order, tradeNo: trade.tradeNo, channel: trade.channel, amount: notice.amountFen, reason: "late_success_refunded", automatic: true,
            surplus: false, by: nil, api: api, on: db)
        next.reviewReason = "late_success_refunded"
        next.channel = trade.channel
        next.tradeNo = trade.tradeNo
        if order.state.canMove(to: .needsReview) { next.state = .needsReview }
        var records = try await orders.save(next, from: order, on: db)
        records.append(
            try message(next, title: "付款将自动退回：\(next.title)", body: "缴款单已关闭，您的 \(Yuan.format(fen: notice.amountFen)) 元付款已原路退回。"))
        return (.surplusRefunded, records)
    }

    private func refunded(_ notice: ChannelNotice, order: PaymentOrder, on db: any SQLDatabase) async throws -> (
        outcome: Outcome, records: [ChangeRecord]
    ) {
        guard let refundNo = notice.refundNo,
            let row = try await db.raw(
                "SELECT order_id, trade_no, amount_fen, state, surplus FROM payment_refunds WHERE refund_no = \(bind: refundNo)\(unsafeRaw: db.forUpdate)"
            ).first(),
            try row.decode(column: "order_id", as: String.self) == order.id
        else { throw AppError(.notFound, "No refund \(notice.refundNo ?? "") of this order.") }
        guard try row.decode(column: "state", as: String.self) == "pending" else { return (.duplicate, []) }
        let amount = try row.decode(column: "amount_fen", as: Int.self)
        guard amount == notice.amountFen else {
            var next = order
            next.reviewReason = "refund_amount_mismatch: the channel reports \(notice.amountFen) fen for a \(amount) fen refund"
            return (.flagged, try await orders.save(next, from: order, on: db))
        }
        let tradeNo = try row.decode(column: "trade_no", as: String.self)
        let surplus = try row.decode(column: "surplus", as: Int.self) == 1
        try await db.update("payment_refunds").set("state", to: "succeeded").set("settled_at", to: runtime.nowMillis)
            .where("refund_no", .equal, refundNo).run()
        let channel = try await tradeRow(tradeNo, on: db)?.channel ?? .alipay
        try await enter(
            "refund:\(refundNo)", order: order, channel: channel, kind: surplus ? "surplus_refund" : "refund", tradeNo: tradeNo,
            refundNo: refundNo, amount: -amount, on: db)
        var next = order
        if !surplus {
            next.refundedFen += amount
            if try await pendingRefunds(of: order.id, on: db) == 0 {
                next.state = next.refundedFen >= next.totalFen ? .refunded : .partiallyRefunded
            }
        }
        var records = try await orders.save(next, from: order, on: db)
        records.append(try message(next, title: "退款到账：\(next.title)", body: "\(Yuan.format(fen: amount)) 元已原路退回。"))
        return (.applied, records)
    }

    private func closed(trade: TradeRow, order: PaymentOrder, on db: any SQLDatabase) async throws -> (outcome: Outcome, records: [ChangeRecord]) {
        guard trade.state == "paying" else { return (.duplicate, []) }
        try await setTrade(trade.tradeNo, state: "closed", channelTradeID: nil, counted: false, on: db)
        // The trade ended unpaid; the order stays payable through a new trade unless it expired.
        guard order.state == .paying, order.tradeNo == trade.tradeNo else { return (.applied, []) }
        var next = order
        next.state = runtime.nowMillis >= order.expiresAt ? .closed : .failed
        return (.applied, try await orders.save(next, from: order, on: db))
    }

    // MARK: Refunds

    /// A refund a clerk asked for: never more than what is left of what was paid, counting refunds still pending.
    func refund(_ orderID: String, amountFen: Int, reason: String, by actor: String, on db: any SQLDatabase) async throws -> (
        order: PaymentOrder, refundNo: String, records: [ChangeRecord]
    ) {
        guard let order = try await orders.lock(orderID, on: db) else { throw AppError.notFound("No payment order \(orderID).") }
        let counted = try await countedTrade(of: order.id, on: db)
        guard order.state == .paid || order.state == .partiallyRefunded || order.state == .refunding || order.state == .needsReview,
            let tradeNo = counted ?? order.tradeNo, let channel = order.channel
        else { throw AppError(.orderNotRefundable, "The order is \(order.state.label) (\(order.state.rawValue)); nothing was paid to refund.") }
        let pending = try await pendingRefunds(of: order.id, on: db)
        let available = order.totalFen - order.refundedFen - pending
        guard (1...max(available, 1)).contains(amountFen), amountFen <= available else {
            throw AppError(.refundExceedsAvailable, "At most \(max(available, 0)) fen of this order can still be refunded.")
        }
        let refundNo = try await requestRefund(
            order: order, tradeNo: tradeNo, channel: channel, amount: amountFen, reason: reason, automatic: false, surplus: false, by: actor,
            api: try channels.api(channel), on: db)
        var next = order
        next.state = .refunding
        return (next, refundNo, order.state == .refunding ? [] : try await orders.save(next, from: order, on: db))
    }

    @discardableResult
    private func requestRefund(
        order: PaymentOrder, tradeNo: String, channel: PaymentChannel, amount: Int, reason: String, automatic: Bool, surplus: Bool, by actor: String?,
        api: any PaymentChannelAPI, on db: any SQLDatabase
    ) async throws -> String {
        let refundNo = "R" + String(runtime.newID().filter { $0.isLetter || $0.isNumber }.prefix(30))
        try await db.insert(into: "payment_refunds")
            .columns(
                "refund_no", "order_id", "trade_no", "amount_fen", "state", "reason", "automatic", "surplus", "requested_by", "created_at",
                "settled_at"
            )
            .values(
                SQLBind(refundNo), SQLBind(order.id), SQLBind(tradeNo), SQLBind(amount), SQLBind("pending"), SQLBind(reason),
                SQLBind(automatic ? 1 : 0), SQLBind(surplus ? 1 : 0), SQLBind(actor), SQLBind(runtime.nowMillis), SQLBind(Int64?.none)
            )
            .run()
        try await api.refund(tradeNo: tradeNo, refundNo: refundNo, amountFen: amount, on: db)
        return refundNo
    }

    // MARK: Closing and recovering

    /// Closes an expired order: each open trade is closed at its channel first, and a trade the payer completed
    /// in the meantime pays the order instead (close, then believe what the channel says).
    func closeExpired(_ orderID: String, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        guard let order = try await orders.lock(orderID, on: db), order.state.isPayable, runtime.nowMillis >= order.expiresAt else { return [] }
        return try await close(orderID, on: db)
    }

    /// Closes a payable order now (the payer cancels it, or it expired), its open trades closed at the channel first.
    func close(_ orderID: String, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        guard let order = try await orders.lock(orderID, on: db), order.state.isPayable else { return [] }
        var records: [ChangeRecord] = []
        for trade in try await openTrades(of: order.id, on: db) {
            guard let api = channels.all[trade.channel] else { continue }
            if let success = try await api.close(tradeNo: trade.tradeNo, on: db), success.kind == .paid {
                records += try await apply(success, channel: trade.channel, eventID: nil, on: db).records
            } else {
                try await setTrade(trade.tradeNo, state: "closed", channelTradeID: nil, counted: false, on: db)
            }
        }
        guard let current = try await orders.lock(orderID, on: db), current.state.isPayable else { return records }
        var next = current
        next.state = .closed
        return records + (try await orders.save(next, from: current, on: db))
    }

    /// Asks the channel about a trade left paying (a lost notification) and applies its answer.
    func recover(_ tradeNo: String, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        guard let trade = try await tradeRow(tradeNo, on: db), trade.state == "paying", let api = channels.all[trade.channel],
            let notice = try await api.query(tradeNo: tradeNo, on: db)
        else { return [] }
        return try await apply(notice, channel: trade.channel, eventID: nil, on: db).records
    }

    // MARK: Rows

    struct TradeRow: Sendable {
        var tradeNo: String
        var orderID: String
        var channel: PaymentChannel
        var amountFen: Int
        var state: String
        var createdAt: Int64
    }

    func tradeRow(_ tradeNo: String, locking: Bool = false, on db: any SQLDatabase) async throws -> TradeRow? {
        guard
            let row = try await db.raw(
                """
                SELECT trade_no, order_id, channel, amount_fen, state, created_at FROM payment_trades
                WHERE trade_no = \(bind: tradeNo)\(unsafeRaw: locking ? db.forUpdate : "")
                """
            ).first()
        else { return nil }
        return try Self.trade(row)
    }

    private static func trade(_ row: any SQLRow) throws -> TradeRow? {
        guard let channel = PaymentChannel(rawValue: try row.decode(column: "channel", as: String.self)) else { return nil }
        return TradeRow(
            tradeNo: try row.decode(column: "trade_no", as: String.self), orderID: try row.decode(column: "order_id", as: String.self),
            channel: channel, amountFen: try row.decode(column: "amount_fen", as: Int.self), state: try row.decode(column: "state", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self))
    }

    func openTrades(of orderID: String, on db: any SQLDatabase) async throws -> [TradeRow] {
        try await db.select().columns("trade_no", "order_id", "channel", "amount_fen", "state", "created_at").from("payment_trades")
            .where("order_id", .equal, orderID).where("state", .equal, "paying").all().compactMap(Self.trade)
    }

    /// Trades left paying since before `cutoff`.
    func stalledTrades(before cutoff: Int64, limit: Int, on db: any SQLDatabase) async throws -> [String] {
        try await db.select().column("trade_no").from("payment_trades").where("state", .equal, "paying").where("created_at", .lessThan, cutoff)
            .orderBy("created_at").limit(limit).all().map { try $0.decode(column: "trade_no", as: String.self) }
    }

    private func countedTrade(of orderID: String, on db: any SQLDatabase) async throws -> String? {
        try await db.select().column("trade_no").from("payment_trades").where("order_id", .equal, orderID).where("counted", .equal, 1).first()?
            .decode(column: "trade_no", as: String.self)
    }

    /// What the order's own pending refunds come to (automatic refunds of surplus trades are not the order's).
    private func pendingRefunds(of orderID: String, on db: any SQLDatabase) async throws -> Int {
        // SUM of a BIGINT is NUMERIC on PostgreSQL: cast it back.
        try await db.raw(
            """
            SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) AS pending FROM payment_refunds
            WHERE order_id = \(bind: orderID) AND state = 'pending' AND surplus = 0
            """
        ).first()?.decode(column: "pending", as: Int.self) ?? 0
    }

    private func setTrade(_ tradeNo: String, state: String, channelTradeID: String?, counted: Bool, on db: any SQLDatabase) async throws {
        var update = db.update("payment_trades").set("state", to: state).set("counted", to: counted ? 1 : 0).set("settled_at", to: runtime.nowMillis)
        if let channelTradeID { update = update.set("channel_trade_id", to: channelTradeID) }
        try await update.where("trade_no", .equal, tradeNo).run()
    }

    private func enter(
        _ key: String, order: PaymentOrder, channel: PaymentChannel, kind: String, tradeNo: String, refundNo: String?, amount: Int,
        on db: any SQLDatabase
    ) async throws {
        let now = runtime.nowMillis
        try await db.insert(into: "payment_ledger")
            .columns("entry_key", "order_id", "channel", "kind", "trade_no", "refund_no", "amount_fen", "category", "day", "at")
            .values(
                SQLBind(key), SQLBind(order.id), SQLBind(channel.rawValue), SQLBind(kind), SQLBind(tradeNo), SQLBind(refundNo), SQLBind(amount),
                SQLBind((order.lines.first?.category ?? .fines).rawValue), SQLBind(WorkingCalendar.day(fromMillis: now)), SQLBind(now)
            )
            .run()
    }

    private func paidMessage(_ order: PaymentOrder) -> String {
        var body = "您已缴纳「\(order.title)」\(Yuan.format(fen: order.totalFen)) 元（缴款码 \(order.paymentCode)）。"
        if order.receiptLicenseId != nil { body += "电子票据已存入证照夹。" }
        return body
    }

    private func message(_ order: PaymentOrder, title: String, body: String) throws -> ChangeRecord {
        let message = Message(
            id: "msg_\(order.id)_\(runtime.newID().prefix(8))", title: title, body: body, category: "payment", subjectID: order.id,
            createdAt: runtime.nowMillis)
        return try .upsert(message, in: .user(order.payerAccountId))
    }
}

extension Date {
    var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}
