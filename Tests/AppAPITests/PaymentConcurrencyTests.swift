import Foundation
import HTTPTypes
import HummingbirdTesting
import OneTripAPI
import SQLKit
import SyncCore
import Testing

@testable import AppAPI

/// Payment decisions taken by racing requests: on PostgreSQL each locks what it decides on (the penalty decision, the
/// order), so the outcome is the one a single request at a time would give.
@Suite struct PaymentConcurrencyTests {
    @Test("Two payers opening one fine at the same moment get the same single order", arguments: TestEngine.enabled)
    func racingFineOrders(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            let relative = try await client.loginCitizen(Demo.citizen2).accessToken
            for decision in Fines.all.prefix(4) {
                async let mine = client.createOrder(citizen, ["decisionNumber": decision.decisionNumber])
                async let theirs = client.createOrder(relative, ["decisionNumber": decision.decisionNumber])
                let answers = try await [mine, theirs]
                for answer in answers { #expect([.created, .ok].contains(answer.status), "\(answer.text)") }
                let ids = try Set(answers.map { try $0.json(PaymentOrder.self).id })
                #expect(ids.count == 1, "one order per decision, whoever asked first")
                let stored = try await database.read { db in
                    try await db.select().column("id").from("payment_orders").where("decision_number", .equal, decision.decisionNumber).all().count
                }
                #expect(stored == 1)
            }
        }
    }

    @Test(
        "Six racing attempts to pay one order on three channels, all confirmed at once: one trade pays, five are refunded",
        arguments: TestEngine.enabled)
    func racingPayments(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            let order = try await client.passportOrder(citizen)
            let channels: [PaymentChannel] = [.alipay, .wechat, .unionpay, .alipay, .wechat, .unionpay]
            let trades = try await withThrowingTaskGroup(of: (PaymentChannel, String).self) { group in
                for channel in channels { group.addTask { (channel, try await client.startTrade(citizen, order.id, channel)) } }
                return try await group.reduce(into: [(PaymentChannel, String)]()) { $0.append($1) }
            }
            #expect(Set(trades.map(\.1)).count == 6 && trades.allSatisfy { !$0.1.isEmpty }, "each attempt is its own trade")
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for (channel, trade) in trades { group.addTask { try await client.confirmTrade(citizen, channel, trade).status } }
                for try await status in group { #expect(status == .ok) }
            }
            _ = try await client.deliverNotifications(citizen)
            let paid = try await client.order(citizen, order.id)
            #expect(paid.state == .paid && paid.refundedFen == 0 && paid.reviewReason == "second_success_refunded")
            let (counted, surplus) = try await database.read { db in
                (
                    try await db.select().column("trade_no").from("payment_trades").where("order_id", .equal, order.id).where("counted", .equal, 1)
                        .all().count,
                    try await db.select().column("refund_no").from("payment_refunds").where("order_id", .equal, order.id)
                        .where("surplus", .equal, 1).all().count
                )
            }
            #expect(counted == 1 && surplus == 5, "counted \(counted), surplus refunds \(surplus)")
            try await expectLedgerBalanced(database)
        }
    }
}
