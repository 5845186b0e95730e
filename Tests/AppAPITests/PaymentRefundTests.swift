import Foundation
import HTTPTypes
import HummingbirdTesting
import OneTripAPI
import SQLKit
import SyncCore
import Testing

@testable import AppAPI

/// Refunds never exceed what was paid — also when they race — and reconciliation compares each channel's daily
/// bill with the ledger.
@Suite struct PaymentRefundTests {
    @Test("Refunds: partial then full, never more than paid, only by the order's department or an admin, idempotent", arguments: TestEngine.enabled)
    func refundRules(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            let clerk = try await client.loginStaff(PaymentFixture.finance).accessToken
            let otherClerk = try await client.loginStaff(WalletFixture.police).accessToken
            let admin = try await client.loginStaff(Demo.admin).accessToken
            let unpaid = try await client.passportOrder(citizen)
            #expect(try await client.refund(clerk, unpaid.id, fen: 100).status == .conflict)
            let order = try await client.paidPassportOrder(citizen, channel: .wechat)
            #expect(try await client.refund(citizen, order.id, fen: 100).status == .forbidden)
            #expect(try await client.refund(otherClerk, order.id, fen: 100).status == .notFound)
            let over = try await client.refund(clerk, order.id, fen: order.totalFen + 1)
            #expect(over.status == .conflict && over.text.contains("refund_exceeds_available"))
            let key = "refund-\(UUID().uuidString)"
            let partial = try await client.refund(clerk, order.id, fen: 5_000, key: key)
            #expect(partial.status == .created, "\(partial.text)")
            // The same request again: the same refund, not a second one.
            let retried = try await client.refund(clerk, order.id, fen: 5_000, key: key)
            #expect(try retried.json(Components.Schemas.PaymentRefund.self).refundNo == partial.json(Components.Schemas.PaymentRefund.self).refundNo)
            _ = try await client.deliverNotifications(citizen)
            let refunding = try await client.order(citizen, order.id)
            #expect(refunding.state == .partiallyRefunded && refunding.refundedFen == 5_000)
            #expect(try await client.refund(admin, order.id, fen: order.totalFen - 4_999).status == .conflict)
            #expect(try await client.refund(admin, order.id, fen: order.totalFen - 5_000).status == .created)
            _ = try await client.deliverNotifications(citizen)
            let refunded = try await client.order(citizen, order.id)
            #expect(refunded.state == .refunded && refunded.refundedFen == order.totalFen)
            #expect(try await client.refund(admin, order.id, fen: 1).status == .conflict)
            try await expectLedgerBalanced(database)
        }
    }

    @Test(
        "Ten refunds of 40% racing on one order: at most two are accepted, and the order never refunds more than it was paid",
        arguments: TestEngine.enabled)
    func concurrentRefunds(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            let clerk = try await client.loginStaff(PaymentFixture.finance).accessToken
            let order = try await client.paidPassportOrder(citizen)
            let share = order.totalFen * 4 / 10
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<10 { group.addTask { try await client.refund(clerk, order.id, fen: share).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 2, "\(statuses)")
            #expect(statuses.allSatisfy { $0 == .created || $0 == .conflict }, "\(statuses)")
            _ = try await client.deliverNotifications(citizen)
            let after = try await client.order(citizen, order.id)
            #expect(after.refundedFen == 2 * share && after.state == .partiallyRefunded)
            try await expectLedgerBalanced(database)
        }
    }

    @Test("Reconciliation matches each channel's bill with the ledger and finds what is missing on either side", arguments: TestEngine.enabled)
    func reconciliation(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            let admin = try await client.loginStaff(Demo.admin).accessToken
            let clerk = try await client.loginStaff(PaymentFixture.finance).accessToken
            for channel in PaymentChannel.allCases { _ = try await client.paidPassportOrder(citizen, channel: channel) }
            let refunded = try await client.paidPassportOrder(citizen, channel: .wechat)
            #expect(try await client.refund(clerk, refunded.id, fen: 1_234).status == .created)
            _ = try await client.deliverNotifications(citizen)
            // A payment the platform has not heard of yet (its notification lost, nobody asked).
            let lost = try await client.passportOrder(citizen)
            let lostTrade = try await client.startTrade(citizen, lost.id, .alipay)
            _ = try await client.confirmTrade(citizen, .alipay, lostTrade, ["lose": true])
            let today = WorkingCalendar.day(fromMillis: Int64(Clock.nowMillis()))
            let report = try await client.get("/v1/payments/reconciliation?date=\(today)", token: admin).json(Components.Schemas.Reconciliation.self)
            #expect(report.matched == 5 && report.mismatched == 0 && report.missingInBill == 0, "\(report)")
            #expect(report.missingInLedger == 1 && report.entries.first { $0.status == .missingInLedger }?.tradeNo == lostTrade)
            let fees = try #require(report.totals.first { $0.category == .administrativeFee })
            #expect(fees.paidFen == 4 * PaymentFixture.passportFen && fees.refundedFen == 1_234)
            // WeChat's bill is in yuan with two decimals, as the real one is.
            let bill = try await client.get("/sandbox/wechat/bill?date=\(today)", token: admin)
            #expect(bill.status == .ok && bill.text.contains("120.00") && bill.text.contains("12.34"), "\(bill.text.prefix(400))")
            #expect(try await client.get("/v1/payments/reconciliation?date=\(today)", token: clerk).status == .forbidden)
            #expect(try await client.get("/v1/payments/reconciliation?date=2026-02-30", token: admin).status == .badRequest)
            // A ledger row gone (as if a notification had been applied to the wrong order): the report says so.
            try await database.transaction { db in
                try await db.delete(from: "payment_ledger").where("trade_no", .equal, refunded.tradeNo ?? "").where("kind", .equal, "payment").run()
            }
            let broken = try await client.get("/v1/payments/reconciliation?date=\(today)", token: admin).json(Components.Schemas.Reconciliation.self)
            #expect(broken.missingInLedger == 2)
        }
    }

    @Test("The daily job reconciles the previous day once, and /v1/stats shows what it found", arguments: TestEngine.enabled)
    func dailyReconciliation(engine: TestEngine) async throws {
        let clock = ManualClock()
        let configure: @Sendable (inout AppConfig) -> Void = {
            $0.runtime = .manual(clock)
            $0.reconciliationInterval = .milliseconds(50)
        }
        try await withTestApp(engine, configure: configure) { client, database in
            let day = WorkingCalendar.day(fromMillis: Int64(clock.now))
            let citizen = try await client.loginCitizen().accessToken
            _ = try await client.paidPassportOrder(citizen, channel: .alipay)
            _ = try await client.paidPassportOrder(citizen, channel: .unionpay)
            let lost = try await client.passportOrder(citizen)
            _ = try await client.confirmTrade(citizen, .wechat, try await client.startTrade(citizen, lost.id, .wechat), ["lose": true])
            // Not before the day is over: the job has reconciled only the day before it.
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await client.get("/v1/stats").json(Components.Schemas.Stats.self).payments?.lastReconciliation?.date != day)

            clock.advance(by: .seconds(86_400))
            var reconciled: Components.Schemas.PaymentStats.LastReconciliationPayload?
            for _ in 0..<200 where reconciled?.date != day {
                try await Task.sleep(for: .milliseconds(50))
                reconciled = try await client.get("/v1/stats").json(Components.Schemas.Stats.self).payments?.lastReconciliation
            }
            let record = try #require(reconciled)
            #expect(record.date == day && record.matched == 2 && record.discrepancies == 1, "\(record)")
            #expect(record.paidFen == 2 * PaymentFixture.passportFen && record.refundedFen == 0)
            // Later rounds find the day done and leave it as it was.
            try await Task.sleep(for: .milliseconds(300))
            let rows = try await database.read { db in
                try await db.select().columns("day", "reconciled_at").from("payment_reconciliations").where("day", .equal, day).all()
            }
            let reconciledAt = try rows.first?.decode(column: "reconciled_at", as: Int64.self)
            #expect(rows.count == 1 && reconciledAt == record.reconciledAt)
        }
    }
}
