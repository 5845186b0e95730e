import Foundation
import SQLKit
import SyncCore

/// Compares each channel's daily bill with the ledger: every payment by trade number and every refund by refund
/// number, matched, missing on either side, or with different amounts; totals per fee category from the ledger.
struct Reconciliation: Sendable {
    let database: any Database
    let sandbox: [PaymentChannel: SandboxChannel]

    struct Entry: Sendable, Equatable {
        enum Status: String, Sendable {
            case matched
            case missingInLedger = "missing_in_ledger"
            case missingInBill = "missing_in_bill"
            case mismatched
        }
        var channel: PaymentChannel
        var kind: ChannelBillLine.Kind
        var tradeNo: String
        var refundNo: String?
        var billFen: Int?
        var ledgerFen: Int?
        var status: Status
    }

    struct Report: Sendable {
        var date: String
        var entries: [Entry]
        var totals: [(category: FeeCategory, paidFen: Int, refundedFen: Int)]
        func count(_ status: Entry.Status) -> Int { entries.filter { $0.status == status }.count }
    }

    /// A day as the daily job recorded it.
    struct Recorded: Sendable, Equatable {
        var day: String
        var matched: Int
        var discrepancies: Int
        var paidFen: Int
        var refundedFen: Int
        var reconciledAt: Int64
    }

    /// The daily job's round: reconciles the day before `now` (a channel publishes a day's bill the next morning)
    /// unless it is recorded already, by this instance or another; returns the record when this round made one.
    func reconcilePreviousDay(now: Int64) async throws -> Recorded? {
        let day = WorkingCalendar.day(fromMillis: now - 86_400_000)
        if try await recorded(day: day) != nil { return nil }
        let report = try await report(day: day)
        let matched = report.count(.matched)
        let record = Recorded(
            day: day, matched: matched, discrepancies: report.entries.count - matched, paidFen: report.totals.reduce(0) { $0 + $1.paidFen },
            refundedFen: report.totals.reduce(0) { $0 + $1.refundedFen }, reconciledAt: now)
        try await database.transaction { db in
            try await db.insert(into: "payment_reconciliations")
                .columns("day", "matched", "discrepancies", "paid_fen", "refunded_fen", "reconciled_at")
                .values(
                    SQLBind(record.day), SQLBind(record.matched), SQLBind(record.discrepancies), SQLBind(record.paidFen),
                    SQLBind(record.refundedFen), SQLBind(record.reconciledAt)
                )
                .ignoringConflicts(with: ["day"]).run()
        }
        return record
    }

    /// The record of `day`, or of the newest reconciled day.
    func recorded(day: String? = nil) async throws -> Recorded? {
        try await database.read { db in
            var query = db.select().columns("day", "matched", "discrepancies", "paid_fen", "refunded_fen", "reconciled_at")
                .from("payment_reconciliations")
            if let day { query = query.where("day", .equal, day) }
            guard let row = try await query.orderBy("day", .descending).limit(1).first() else { return nil }
            return Recorded(
                day: try row.decode(column: "day", as: String.self), matched: try row.decode(column: "matched", as: Int.self),
                discrepancies: try row.decode(column: "discrepancies", as: Int.self), paidFen: try row.decode(column: "paid_fen", as: Int.self),
                refundedFen: try row.decode(column: "refunded_fen", as: Int.self),
                reconciledAt: try row.decode(column: "reconciled_at", as: Int64.self))
        }
    }

    func report(day: String) async throws -> Report {
        var entries: [Entry] = []
        for channel in PaymentChannel.allCases {
            // The bill as the channel serves it (text in its own format), read back as a merchant would.
            guard let channelAPI = sandbox[channel] else { continue }
            let text = try await database.read { db in try await channelAPI.bill(day: day, on: db) }
            let bill = try SandboxChannel.decodeBill(text, channel: channel)
            let ledger = try await ledgerLines(channel: channel, day: day)
            entries += Self.compare(bill: bill, ledger: ledger, channel: channel)
        }
        let rows = try await database.read { db in
            try await db.raw(
                """
                SELECT category, kind, CAST(SUM(amount_fen) AS BIGINT) AS total FROM payment_ledger WHERE day = \(bind: day) GROUP BY category, kind
                """
            ).all()
        }
        var totals: [FeeCategory: (paid: Int, refunded: Int)] = [:]
        for row in rows {
            guard let category = FeeCategory(rawValue: try row.decode(column: "category", as: String.self)) else { continue }
            let total = try row.decode(column: "total", as: Int.self)
            let kind = try row.decode(column: "kind", as: String.self)
            var value = totals[category] ?? (0, 0)
            if kind.hasSuffix("payment") { value.paid += total } else { value.refunded += -total }
            totals[category] = value
        }
        return Report(
            date: day, entries: entries,
            totals: FeeCategory.allCases.compactMap { category in totals[category].map { (category, $0.paid, $0.refunded) } })
    }

    static func compare(bill: [ChannelBillLine], ledger: [ChannelBillLine], channel: PaymentChannel) -> [Entry] {
        func key(_ line: ChannelBillLine) -> String { line.kind == .payment ? "pay:\(line.tradeNo)" : "refund:\(line.refundNo ?? "")" }
        let booked = Dictionary(ledger.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
        var entries: [Entry] = []
        var seen = Set<String>()
        for line in bill {
            let k = key(line)
            seen.insert(k)
            let mine = booked[k]
            let status: Entry.Status = mine == nil ? .missingInLedger : (mine!.amountFen == line.amountFen ? .matched : .mismatched)
            entries.append(
                .init(
                    channel: channel, kind: line.kind, tradeNo: line.tradeNo, refundNo: line.refundNo, billFen: line.amountFen,
                    ledgerFen: mine?.amountFen, status: status))
        }
        for line in ledger where !seen.contains(key(line)) {
            entries.append(
                .init(
                    channel: channel, kind: line.kind, tradeNo: line.tradeNo, refundNo: line.refundNo, billFen: nil, ledgerFen: line.amountFen,
                    status: .missingInBill))
        }
        return entries
    }

    private func ledgerLines(channel: PaymentChannel, day: String) async throws -> [ChannelBillLine] {
        try await database.read { db in
            try await db.select().columns("kind", "trade_no", "refund_no", "amount_fen", "at").from("payment_ledger")
                .where("channel", .equal, channel.rawValue).where("day", .equal, day).all().map { row in
                    let kind = try row.decode(column: "kind", as: String.self)
                    return ChannelBillLine(
                        kind: kind.hasSuffix("payment") ? .payment : .refund, tradeNo: try row.decode(column: "trade_no", as: String.self),
                        channelTradeID: "",
                        refundNo: try row.decode(column: "refund_no", as: String?.self),
                        amountFen: abs(try row.decode(column: "amount_fen", as: Int.self)),
                        at: SandboxChannel.date(try row.decode(column: "at", as: Int64.self)))
                }
        }
    }
}
