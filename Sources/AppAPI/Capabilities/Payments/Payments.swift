import Foundation
import Logging
import OneTripAPI
import SQLKit
import SyncCore

/// The Payments capability: orders, the ledger, channel notifications, the sandbox channels (dev mode and tests),
/// penalty decisions, reconciliation and its jobs — built once at the composition root.
struct Payments: Sendable {
    let database: any Database
    let orders: PaymentOrderStore
    let ledger: PaymentLedger
    let notifications: PaymentNotifications
    /// The sandbox channels, when this server runs them.
    let sandbox: [PaymentChannel: SandboxChannel]
    let runtime: Runtime
    let deliveries: SandboxDeliveries

    /// How often the sandbox channels send what they owe; `nil`: only when asked (`POST /sandbox/deliveries`, and each
    /// confirmation), as the tests do.
    let deliveryInterval: Duration?
    /// How often the daily reconciliation looks whether yesterday is reconciled yet.
    let reconciliationInterval: Duration

    init(
        database: any Database, effects: PaymentEffects, sandbox: SandboxMerchants?, timeScale: Double = 1,
        deliveryInterval: Duration? = .seconds(1), reconciliationInterval: Duration = .seconds(3600), runtime: Runtime
    ) {
        self.deliveryInterval = deliveryInterval
        self.reconciliationInterval = reconciliationInterval
        self.database = database
        self.runtime = runtime
        orders = PaymentOrderStore(runtime: runtime)
        let keys = SandboxKeys()
        var channels: [PaymentChannel: SandboxChannel] = [:]
        if let sandbox {
            for channel in PaymentChannel.allCases {
                channels[channel] = SandboxChannel(channel: channel, merchants: sandbox, keys: keys, runtime: runtime, timeScale: timeScale)
            }
        }
        self.sandbox = channels
        ledger = PaymentLedger(orders: orders, channels: PaymentChannels(all: channels), effects: effects, runtime: runtime)
        notifications = PaymentNotifications(database: database, ledger: ledger, runtime: runtime)
        deliveries = SandboxDeliveries(database: database, channels: channels, receiver: notifications, runtime: runtime)
    }

    /// Each channel's daily bill against the ledger.
    var reconciliation: Reconciliation { Reconciliation(database: database, sandbox: sandbox) }

    var caseObservers: [any CaseObserver] { [CaseFeeOrders(orders: orders, runtime: runtime)] }

    // MARK: Opening orders

    /// A standalone order for a fee item the payer may price (fixed or table), in the payer's own name.
    func openFeeOrder(_ line: PaymentOrderStore.LineRequest, for accountID: String, on db: any SQLDatabase) async throws -> (
        PaymentOrder, [ChangeRecord]
    ) {
        guard let item = try await ChangeLog.entity(FeeItem.self, id: line.feeItemCode, in: .public, on: db) else {
            throw AppError(.invalidFeeLine, "No fee item \(line.feeItemCode).", errors: [.init(pointer: "/feeItemCode", detail: "unknown")])
        }
        guard item.category != .fines else {
            throw AppError(.feeAssessed, "Fines are paid by their decision number (decisionNumber), not by fee item.")
        }
        let priced = try PaymentOrderStore.price(line, item: item, assessedAllowed: false)
        return try await orders.open(
            .init(
                title: item.name, departmentId: item.departmentId, lines: [priced], payerAccountId: accountID,
                expiresAt: runtime.nowMillis + PaymentOrderStore.feeOrderLifetimeMillis), on: db)
    }

    /// The order of a penalty decision: its fine plus the late fee of today. Anyone may pay a fine (a relative's,
    /// the company's); the order is the payer's. One open order per decision: asking again returns it while its day
    /// lasts.
    func openFineOrder(_ decisionNumber: String, for accountID: String, on db: any SQLDatabase) async throws -> (PaymentOrder, [ChangeRecord]) {
        guard
            let row = try await db.raw(
                """
                SELECT fee_item_code, department_id, violation, amount_fen, due_on, paid_order_id FROM penalty_decisions
                WHERE decision_number = \(bind: decisionNumber)\(unsafeRaw: db.forUpdate)
                """
            ).first()
        else { throw AppError(.unknownDecision, "No penalty decision \(decisionNumber).") }
        if try row.decode(column: "paid_order_id", as: String?.self) != nil {
            throw AppError(.decisionPaid, "Decision \(decisionNumber) is paid.")
        }
        if let open = try await orders.openOrder(decision: decisionNumber, on: db), let order = try await orders.read(open, on: db) {
            if order.expiresAt > runtime.nowMillis { return (order, []) }
            _ = try await ledger.closeExpired(open, on: db)
        }
        let code = try row.decode(column: "fee_item_code", as: String.self)
        guard let item = try await ChangeLog.entity(FeeItem.self, id: code, in: .public, on: db) else { throw AppError.internalError }
        let amount = try row.decode(column: "amount_fen", as: Int.self)
        let today = WorkingCalendar.day(fromMillis: runtime.nowMillis)
        let lateFee = LateFee.fen(fineFen: amount, dueOn: try row.decode(column: "due_on", as: String.self), paidOn: today)
        let endOfDay = (WorkingCalendar.startOfDayMillis(today) ?? runtime.nowMillis) + 86_400_000
        return try await orders.open(
            .init(
                title: "\(item.name)（\(decisionNumber)）", departmentId: try row.decode(column: "department_id", as: String.self),
                lines: [.init(feeItemCode: code, name: item.name, category: item.category, quantity: 1, unitAmountFen: amount, amountFen: amount)],
                lateFeeFen: lateFee, decisionNumber: decisionNumber, payerAccountId: accountID, expiresAt: endOfDay), on: db)
    }

    /// A case's order with the lines a clerk states (for fees the matter cannot price by itself).
    func openCaseOrder(_ caseFile: Case, lines: [PaymentOrderStore.LineRequest], on db: any SQLDatabase) async throws -> (
        PaymentOrder, [ChangeRecord]
    ) {
        guard caseFile.state == .awaitingPayment else {
            throw AppError(.caseNotAwaitingPayment, "The case is \(caseFile.state.label); a clerk requires payment first.")
        }
        if try await orders.openOrder(case: caseFile.id, on: db) != nil {
            throw AppError(.caseNotAwaitingPayment, "The case has an open order already.")
        }
        guard let matter = try await ChangeLog.entity(Matter.self, id: caseFile.matterCode, in: .public, on: db) else { throw AppError.internalError }
        guard (1...PaymentOrderStore.maxLines).contains(lines.count) else {
            throw AppError(.invalidFeeLine, "An order has 1–\(PaymentOrderStore.maxLines) lines.")
        }
        var priced: [PaymentOrder.Line] = []
        for line in lines {
            guard matter.feeItemCodes.contains(line.feeItemCode),
                let item = try await ChangeLog.entity(FeeItem.self, id: line.feeItemCode, in: .public, on: db)
            else { throw AppError(.invalidFeeLine, "\(line.feeItemCode) is not a fee of \(matter.name).") }
            priced.append(try PaymentOrderStore.price(line, item: item, assessedAllowed: true))
        }
        return try await orders.open(
            .init(
                title: caseFile.matterName, departmentId: caseFile.departmentId, lines: priced, caseId: caseFile.id,
                payerAccountId: caseFile.accountId,
                expiresAt: runtime.nowMillis + PaymentOrderStore.feeOrderLifetimeMillis), on: db)
    }

    // MARK: Seeds

    /// Loads the sample penalty decisions (`seeds/fines.json`) once; returns how many were new.
    static func loadDecisions(from seeds: URL, into database: any Database) async throws -> Int {
        guard let data = try? Data(contentsOf: seeds.appendingPathComponent("fines.json")) else { return 0 }
        let decisions = try JSONDecoder().decode([PenaltyDecision].self, from: data)
        return try await database.transaction { db in
            var created = 0
            for decision in decisions {
                let inserted = try await db.raw(
                    """
                    INSERT INTO penalty_decisions (decision_number, fee_item_code, department_id, party_kind, party_name, party_id, plate,
                        violation, legal_basis, amount_fen, decided_on, due_on, paid_order_id)
                    VALUES (\(bind: decision.decisionNumber), \(bind: decision.feeItemCode), \(bind: decision.departmentId), \(bind: decision.party.kind),
                        \(bind: decision.party.name), \(bind: decision.party.idNumber ?? decision.party.creditCode), \(bind: decision.party.plate),
                        \(bind: decision.violation), \(bind: decision.legalBasis), \(bind: decision.amountFen), \(bind: decision.decidedOn),
                        \(bind: decision.dueOn), NULL)
                    ON CONFLICT (decision_number) DO NOTHING RETURNING decision_number
                    """
                ).first()
                if inserted != nil { created += 1 }
            }
            return created
        }
    }

    // MARK: Jobs

    /// Delivers the sandbox channels' due notifications now (see `SandboxDeliveries`).
    func deliverDue() async throws -> Int { try await deliveries.deliverDue() }

    /// Closes orders past their expiry (closing their trades at the channel first) and asks the channels about
    /// trades left paying for more than a minute (lost notifications).
    func sweep(limit: Int = 200) async throws -> (closed: Int, recovered: Int) {
        let now = runtime.nowMillis
        let expired = try await database.read { db in
            try await db.select().column("id").from("payment_orders")
                .where("state", .in, [PaymentOrderState.created, .paying, .failed].map(\.rawValue)).where("expires_at", .lessThanOrEqual, now)
                .limit(limit).all().map { try $0.decode(column: "id", as: String.self) }
        }
        var closed = 0
        for id in expired {
            let records = try await database.transaction { [ledger, runtime] db in
                let records = try await ledger.closeExpired(id, on: db)
                if !records.isEmpty { try await ChangeLog.append(records, on: db, now: runtime.now()) }
                return records
            }
            if !records.isEmpty { closed += 1 }
        }
        let stalled = try await database.read { [ledger] db in try await ledger.stalledTrades(before: now - 60_000, limit: limit, on: db) }
        var recovered = 0
        for tradeNo in stalled {
            let records = try await database.transaction { [ledger, runtime] db in
                let records = try await ledger.recover(tradeNo, on: db)
                if !records.isEmpty { try await ChangeLog.append(records, on: db, now: runtime.now()) }
                return records
            }
            if !records.isEmpty { recovered += 1 }
        }
        return (closed, recovered)
    }

    /// Brings one payable order up to date: its open trades are asked about at their channel (at most the three
    /// newest), and it is closed when expired.
    func refresh(_ orderID: String) async throws {
        let trades = try await database.read { [ledger] db in try await ledger.openTrades(of: orderID, on: db) }
        for trade in trades.sorted(by: { $0.createdAt > $1.createdAt }).prefix(3) {
            try await database.transaction { [ledger, runtime] db in
                let records = try await ledger.recover(trade.tradeNo, on: db)
                if !records.isEmpty { try await ChangeLog.append(records, on: db, now: runtime.now()) }
            }
        }
        try await database.transaction { [ledger, runtime] db in
            let records = try await ledger.closeExpired(orderID, on: db)
            if !records.isEmpty { try await ChangeLog.append(records, on: db, now: runtime.now()) }
        }
    }

    /// Paid orders by channel, for `/v1/stats`.
    func statistics() async throws -> Components.Schemas.PaymentStats {
        let paid = [PaymentOrderState.paid, .refunding, .partiallyRefunded, .refunded].map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let rows = try await database.read { db in
            try await db.raw(
                """
                SELECT channel, COUNT(*) AS orders, CAST(SUM(total_fen) AS BIGINT) AS fen, CAST(SUM(refunded_fen) AS BIGINT) AS refunded
                FROM payment_orders WHERE state IN (\(unsafeRaw: paid)) GROUP BY channel
                """
            ).all()
        }
        var byChannel: [Components.Schemas.PaymentStats.ByChannelPayloadPayload] = []
        var refunded = 0
        for row in rows {
            guard let channel = PaymentChannel(rawValue: try row.decode(column: "channel", as: String?.self) ?? "") else { continue }
            byChannel.append(
                .init(channel: channel, orders: try row.decode(column: "orders", as: Int.self), fen: try row.decode(column: "fen", as: Int.self)))
            refunded += try row.decode(column: "refunded", as: Int.self)
        }
        byChannel.sort { $0.channel.rawValue < $1.channel.rawValue }
        let orders = byChannel.reduce(0) { $0 + $1.orders }
        let mobile = byChannel.filter { PaymentChannel.allCases.contains($0.channel) }.reduce(0) { $0 + $1.orders }
        let reconciled = try await reconciliation.recorded().map { record in
            Components.Schemas.PaymentStats.LastReconciliationPayload(
                date: record.day, matched: record.matched, discrepancies: record.discrepancies, paidFen: record.paidFen,
                refundedFen: record.refundedFen, reconciledAt: record.reconciledAt)
        }
        return .init(
            paidOrders: orders, paidFen: byChannel.reduce(0) { $0 + $1.fen }, refundedFen: refunded,
            mobileShare: orders == 0 ? 1 : Double(mobile) / Double(orders), byChannel: byChannel, lastReconciliation: reconciled)
    }

    var jobs: [PeriodicJob] {
        var jobs = [
            PeriodicJob(name: "payment orders", interval: .seconds(60)) {
                let (closed, recovered) = try await sweep()
                return closed + recovered > 0 ? "closed \(closed) expired orders, recovered \(recovered) trades by query" : nil
            },
            PeriodicJob(name: "payment nonces", interval: .seconds(600)) {
                let purged = try await notifications.purgeNonces()
                return purged > 0 ? "forgot \(purged) notification nonces" : nil
            },
        ]
        if !sandbox.isEmpty {
            // Each channel's bill of a day against the ledger, once per day, the next day.
            jobs.append(
                PeriodicJob(name: "payment reconciliation", interval: reconciliationInterval) {
                    guard let record = try await reconciliation.reconcilePreviousDay(now: runtime.nowMillis) else { return nil }
                    return "reconciled \(record.day): \(record.matched) matched, \(record.discrepancies) discrepancies"
                })
        }
        if !sandbox.isEmpty, let deliveryInterval {
            jobs.append(
                PeriodicJob(name: "sandbox notifications", interval: deliveryInterval) {
                    let delivered = try await deliverDue()
                    return delivered > 0 ? "delivered \(delivered) sandbox notifications" : nil
                })
        }
        return jobs
    }
}

/// A penalty decision (行政处罚决定书) as `seeds/fines.json` gives it.
struct PenaltyDecision: Codable, Sendable {
    struct Party: Codable, Sendable {
        var kind: String
        var name: String
        var idNumber: String?
        var creditCode: String?
        var plate: String?
    }
    var decisionNumber: String
    var feeItemCode: String
    var departmentId: String
    var party: Party
    var violation: String
    var legalBasis: String?
    var amountFen: Int
    var decidedOn: String
    var dueOn: String
}

/// Opens a case's order when a clerk requires payment, from the matter's fee items — when the matter can price them
/// all itself (fixed prices at their default quantities). A matter with assessed or table-priced fees waits for the
/// clerk to open the order with the amounts (`POST /v1/payment-orders` with `caseId` and `lines`); the applicant is told.
struct CaseFeeOrders: CaseObserver {
    let orders: PaymentOrderStore
    let runtime: Runtime

    func caseChanged(from old: Case?, to new: Case, calendar: WorkingCalendar, on db: any SQLDatabase) async throws -> [ChangeRecord] {
        guard new.state == .awaitingPayment, old?.state != .awaitingPayment,
            let matter = try await ChangeLog.entity(Matter.self, id: new.matterCode, in: .public, on: db)
        else { return [] }
        var items: [FeeItem] = []
        for code in matter.feeItemCodes {
            if let item = try await ChangeLog.entity(FeeItem.self, id: code, in: .public, on: db) { items.append(item) }
        }
        guard !items.isEmpty, items.allSatisfy({ $0.effectivePricing == .fixed }), try await orders.openOrder(case: new.id, on: db) == nil else {
            return []
        }
        let lines = try items.map { try PaymentOrderStore.price(.init(feeItemCode: $0.code), item: $0, assessedAllowed: false) }
        guard lines.contains(where: { $0.amountFen > 0 }) else { return [] }
        return try await orders.open(
            .init(
                title: new.matterName, departmentId: new.departmentId, lines: lines, caseId: new.id, payerAccountId: new.accountId,
                expiresAt: runtime.nowMillis + PaymentOrderStore.feeOrderLifetimeMillis), on: db
        ).records
    }
}
