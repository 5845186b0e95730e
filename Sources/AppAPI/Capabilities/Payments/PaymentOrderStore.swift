import Foundation
import SQLKit
import SyncCore

/// Payment orders: opening them from fee items or penalty decisions, and every state move. The order entity lives in
/// its payer's `user:` scope; the `payment_orders` row indexes it and is what every money move locks (`FOR UPDATE`
/// on PostgreSQL) before it reads the order and decides.
struct PaymentOrderStore: Sendable {
    let runtime: Runtime

    /// Fee orders stay payable a week; a fine's order until the end of its day, because its late fee grows daily.
    static let feeOrderLifetimeMillis: Int64 = 7 * 86_400_000
    /// The most units of one fee item on one order.
    static let maxQuantity = 99
    /// The most lines on one order.
    static let maxLines = 16

    /// One requested line: a fee item, how many units, which price-table entry, and for assessed items the amount a
    /// clerk or a decision states.
    struct LineRequest: Sendable, Hashable {
        var feeItemCode: String
        var quantity: Int?
        var priceCode: String?
        var amountFen: Int?
    }

    /// What opens an order.
    struct Opening: Sendable {
        var title: String
        var departmentId: String
        var lines: [PaymentOrder.Line]
        var lateFeeFen = 0
        var caseId: String?
        var decisionNumber: String?
        var payerAccountId: String
        var expiresAt: Int64
    }

    /// Prices one line from its fee item. `assessedAllowed`: whether the caller may state an assessed amount (a clerk
    /// of the item's department opening a case's order).
    static func price(_ request: LineRequest, item: FeeItem, assessedAllowed: Bool) throws -> PaymentOrder.Line {
        let quantity = request.quantity ?? item.defaultQuantity ?? 1
        guard (0...maxQuantity).contains(quantity) else {
            throw AppError(.invalidFeeLine, "\(item.code): quantity must be 0–\(maxQuantity).")
        }
        let unit: Int
        switch item.effectivePricing {
        case .fixed:
            guard let standard = item.standardAmountFen, request.amountFen == nil, request.priceCode == nil else {
                throw AppError(.invalidFeeLine, "\(item.code) has a fixed price (\(item.standardAmountFen ?? 0) fen); give only a quantity.")
            }
            unit = standard
        case .table:
            guard let code = request.priceCode, let price = item.prices?.first(where: { $0.code == code }), request.amountFen == nil else {
                let codes = (item.prices ?? []).map(\.code).joined(separator: ", ")
                throw AppError(.invalidFeeLine, "\(item.code) is priced by a table: give priceCode, one of \(codes).")
            }
            unit = price.amountFen
        case .assessed:
            guard assessedAllowed else {
                throw AppError(
                    .feeAssessed, "\(item.code) (\(item.name)) is assessed by \(item.departmentId): pay it from the notice's payment code.")
            }
            guard let amount = request.amountFen, (1...(item.maxAmountFen ?? 100_000_000)).contains(amount), request.priceCode == nil else {
                throw AppError(.invalidFeeLine, "\(item.code): amountFen must be 1–\(item.maxAmountFen ?? 100_000_000) fen.")
            }
            unit = amount
        }
        // Bounded: unit ≤ 10^10 fen by the seeds' checks and quantity ≤ 99, far from overflow.
        return PaymentOrder.Line(
            feeItemCode: item.code, name: item.name, category: item.category, priceCode: request.priceCode, quantity: quantity, unitAmountFen: unit,
            amountFen: unit * quantity)
    }

    /// Opens an order in the caller's transaction and returns it with its change record.
    func open(_ opening: Opening, on db: any SQLDatabase) async throws -> (order: PaymentOrder, records: [ChangeRecord]) {
        let lines = opening.lines.filter { $0.amountFen > 0 }
        let total = lines.reduce(0) { $0 + $1.amountFen } + opening.lateFeeFen
        guard total > 0 else { throw AppError(.nothingToPay, "Nothing on this order costs anything.") }
        let now = runtime.nowMillis
        let id = "ord_" + runtime.newID()
        var code = ""
        // Codes are random; a clash (one in 10^11 per pair) draws again.
        for _ in 0..<8 {
            code = PaymentCode.make(year: Int(WorkingCalendar.day(fromMillis: now).prefix(4)) ?? 2026) { UInt64.random(in: 0...UInt64.max) }
            if try await db.select().column("id").from("payment_orders").where("payment_code", .equal, code).first() == nil { break }
        }
        let order = PaymentOrder(
            id: id, paymentCode: code, title: opening.title, departmentId: opening.departmentId, lines: lines, lateFeeFen: opening.lateFeeFen,
            totalFen: total, caseId: opening.caseId, decisionNumber: opening.decisionNumber, payerAccountId: opening.payerAccountId, createdAt: now,
            expiresAt: opening.expiresAt)
        try await db.insert(into: "payment_orders")
            .columns(
                "id", "payment_code", "account_id", "department_id", "case_id", "decision_number", "state", "total_fen", "refunded_fen",
                "expires_at", "created_at", "paid_at", "channel", "category"
            )
            .values(
                SQLBind(id), SQLBind(code), SQLBind(order.payerAccountId), SQLBind(order.departmentId), SQLBind(order.caseId),
                SQLBind(order.decisionNumber), SQLBind(order.state.rawValue), SQLBind(total), SQLBind(0), SQLBind(order.expiresAt), SQLBind(now),
                SQLBind(Int64?.none), SQLBind(String?.none), SQLBind((lines.first?.category ?? .fines).rawValue)
            )
            .run()
        return (order, [try .upsert(order, in: .user(order.payerAccountId))])
    }

    /// The order, its row locked until the transaction ends.
    func lock(_ id: String, on db: any SQLDatabase) async throws -> PaymentOrder? {
        guard
            let row = try await db.raw("SELECT account_id FROM payment_orders WHERE id = \(bind: id)\(unsafeRaw: db.forUpdate)").first(),
            let account = try? row.decode(column: "account_id", as: String.self)
        else { return nil }
        return try await ChangeLog.entity(PaymentOrder.self, id: id, in: .user(account), on: db)
    }

    /// The order without a lock (reads).
    func read(_ id: String, on db: any SQLDatabase) async throws -> PaymentOrder? {
        guard let row = try await db.select().column("account_id").from("payment_orders").where("id", .equal, id).first(),
            let account = try? row.decode(column: "account_id", as: String.self)
        else { return nil }
        return try await ChangeLog.entity(PaymentOrder.self, id: id, in: .user(account), on: db)
    }

    func id(ofPaymentCode code: String, on db: any SQLDatabase) async throws -> String? {
        try await db.select().column("id").from("payment_orders").where("payment_code", .equal, code).first()?.decode(column: "id", as: String.self)
    }

    /// Saves a changed order: its state may move only along `PaymentOrderState.moves`.
    func save(_ order: PaymentOrder, from old: PaymentOrder, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        if order.state != old.state {
            guard old.state.canMove(to: order.state) else {
                throw AppError(.invalidOrderTransition, "A \(old.state.rawValue) order cannot become \(order.state.rawValue).")
            }
        }
        guard order != old else { return [] }
        try await db.update("payment_orders").set("state", to: order.state.rawValue).set("refunded_fen", to: order.refundedFen)
            .set("paid_at", to: order.paidAt).set("channel", to: order.channel?.rawValue).where("id", .equal, order.id).run()
        return [try .upsert(order, in: .user(order.payerAccountId))]
    }

    /// The orders of an account, newest first.
    func orders(of accountID: String, limit: Int, on db: any SQLDatabase) async throws -> [PaymentOrder] {
        let ids = try await db.select().column("id").from("payment_orders").where("account_id", .equal, accountID)
            .orderBy("created_at", .descending).limit(limit).all().map { try $0.decode(column: "id", as: String.self) }
        var orders: [PaymentOrder] = []
        for id in ids { if let order = try await ChangeLog.entity(PaymentOrder.self, id: id, in: .user(accountID), on: db) { orders.append(order) } }
        return orders
    }

    /// The open order of a case or a decision, if any.
    func openOrder(case caseID: String? = nil, decision: String? = nil, on db: any SQLDatabase) async throws -> String? {
        var query = db.select().column("id").from("payment_orders")
            .where("state", .in, [PaymentOrderState.created, .paying, .failed].map(\.rawValue))
        if let caseID { query = query.where("case_id", .equal, caseID) }
        if let decision { query = query.where("decision_number", .equal, decision) }
        return try await query.first()?.decode(column: "id", as: String.self)
    }
}

extension ProblemCode {
    /// A fee line that does not fit its fee item (quantity, price code or amount).
    static let invalidFeeLine = ProblemCode("invalid_fee_line", .invalid)
    /// The fee is assessed by its department; the payer cannot state the amount.
    static let feeAssessed = ProblemCode("fee_assessed", .invalid)
    /// The order would total 0 fen.
    static let nothingToPay = ProblemCode("nothing_to_pay", .invalid)
    /// A move the order's state machine does not declare.
    static let invalidOrderTransition = ProblemCode("invalid_order_transition", .conflict)
    /// The order is not payable (paid, closed, refunded…).
    static let orderNotPayable = ProblemCode("order_not_payable", .conflict)
    /// The order's payment window has passed.
    static let orderExpired = ProblemCode("order_expired", .conflict)
    /// A refund over what is left to refund.
    static let refundExceedsAvailable = ProblemCode("refund_exceeds_available", .conflict)
    /// The order was not paid, so there is nothing to refund.
    static let orderNotRefundable = ProblemCode("order_not_refundable", .conflict)
    /// No penalty decision with this number.
    static let unknownDecision = ProblemCode("unknown_decision", .notFound)
    /// The decision was paid already.
    static let decisionPaid = ProblemCode("decision_paid", .conflict)
    /// The channel is not available (sandbox channels run only in dev mode).
    static let channelUnavailable = ProblemCode("channel_unavailable", .conflict)
    /// A case's order exists already, or the case is not awaiting payment.
    static let caseNotAwaitingPayment = ProblemCode("case_not_awaiting_payment", .conflict)
    /// A channel notification that failed verification.
    static let notificationRejected = ProblemCode("notification_rejected", .badRequest)
}
