import Foundation
import HTTPTypes
import HummingbirdTesting
import OneTripAPI
import SQLKit
import SyncCore
import Testing
import _CryptoExtras

@testable import AppAPI

/// Channel notifications: verified over the raw bytes, applied exactly once whatever arrives twice, late, early, forged
/// or replayed — with the ledger balanced after each.
@Suite struct PaymentNotificationTests {
    @Test(
        "Each channel pays an order end to end: prepay, the payment app's confirmation, the notification, the e-receipt",
        arguments: TestEngine.enabled)
    func everyChannelPays(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            for channel in PaymentChannel.allCases {
                let order = try await client.paidPassportOrder(citizen, channel: channel)
                #expect(order.channel == channel && order.paidAt != nil && order.receiptLicenseId != nil)
                let receipt = try await client.get("/v1/wallet/licenses/\(order.receiptLicenseId ?? "")", token: citizen).json(License.self)
                #expect(receipt.fields["amount_fen"] == String(PaymentFixture.passportFen))
            }
            // Orders and receipts reach the phone through sync.
            let pulled = try await client.pullAll(citizen, clientID: "payment-phone-01")
            #expect(pulled.changes.filter { $0._type.rawValue == EntityType.paymentOrder.rawValue }.count == 3)
            // The reform's figures count them, by channel.
            let stats = try await client.get("/v1/stats").json(Components.Schemas.Stats.self)
            let payments = try #require(stats.payments)
            #expect(payments.paidOrders == 3 && payments.paidFen == 3 * PaymentFixture.passportFen && payments.mobileShare == 1)
            #expect(payments.byChannel.map(\.channel) == [.alipay, .unionpay, .wechat] && payments.byChannel.allSatisfy { $0.orders == 1 })
            try await expectLedgerBalanced(database)
        }
    }

    @Test(
        "A genuine notification delivered twice, or 100 times at once, moves the order once and is acknowledged every time",
        arguments: TestEngine.enabled)
    func duplicates(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            // The channel's own duplicates.
            let order = try await client.passportOrder(citizen)
            let trade = try await client.startTrade(citizen, order.id, .alipay)
            #expect(try await client.confirmTrade(citizen, .alipay, trade, ["duplicates": 5]).status == .ok)
            #expect(try await client.order(citizen, order.id).state == .paid)
            let acked = try await database.read { db in
                try await db.select().column("id").from("sandbox_deliveries").where("state", .equal, "acked").all().count
            }
            #expect(acked == 6)
            // The same bytes posted 100 times concurrently, for each channel.
            for channel in PaymentChannel.allCases {
                let order = try await client.passportOrder(citizen)
                let trade = try await client.startTrade(citizen, order.id, channel)
                #expect(try await client.confirmTrade(citizen, channel, trade, ["lose": true]).status == .ok)
                let sandbox = sandboxChannel(channel, database)
                let notice = try #require(try await database.read { db in try await sandbox.query(tradeNo: trade, on: db) })
                let message = try await sandbox.message(for: notice, on: database)
                let answers = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String).self) { group in
                    for _ in 0..<100 {
                        group.addTask {
                            // WeChat's nonce is single-use: its genuine resends carry new ones.
                            let copy = channel == .wechat ? try await sandbox.message(for: notice, on: database) : message
                            let answer = try await client.notify(channel, copy)
                            return (answer.status, answer.text)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(answers.allSatisfy { $0.0 == .ok }, "\(channel): \(answers.filter { $0.0 != .ok }.prefix(3))")
                if channel == .alipay { #expect(answers.allSatisfy { $0.1 == "success" }) }
                let paid = try await client.order(citizen, order.id)
                #expect(paid.state == .paid)
                let receipts = try await database.read { db in
                    try await db.select().column("id").from("licenses").where("id", .equal, "lic_rcpt_\(order.id)").all().count
                }
                #expect(receipts == 1)
            }
            try await expectLedgerBalanced(database)
        }
    }

    @Test("Forged, tampered, foreign-key and wrong-amount notifications never pay an order", arguments: TestEngine.enabled)
    func forgeries(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            let otherKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            for channel in PaymentChannel.allCases {
                let order = try await client.passportOrder(citizen)
                let trade = try await client.startTrade(citizen, order.id, channel)
                let sandbox = sandboxChannel(channel, database)
                let notice = ChannelNotice(
                    kind: .paid, eventID: "evt-\(trade)", tradeNo: trade, channelTradeID: "4200000000000000000000000001",
                    appID: sandbox.merchant.appID, merchantID: sandbox.merchant.merchantID, amountFen: PaymentFixture.passportFen, refundNo: nil,
                    at: Date(timeIntervalSince1970: Double(Clock.nowMillis() / 1000)))
                // One byte of the body changed.
                var tampered = try await sandbox.message(for: notice, on: database)
                let index = tampered.body.count / 2
                tampered.body[index] = tampered.body[index] == 0x31 ? 0x32 : 0x31
                let refusedTamper = try await client.notify(channel, tampered)
                #expect(
                    refusedTamper.status == .badRequest && refusedTamper.text.contains("notification_rejected"), "\(channel): \(refusedTamper.text)")
                // Signed by someone else.
                let forged: ChannelMessage =
                    switch channel {
                    case .alipay: AlipayWire.notification(for: notice, buyerID: "2088102122524333", signingKey: otherKey)
                    case .wechat:
                        WechatWire.notification(
                            for: notice, openID: "o-forger", signingKey: otherKey,
                            serial: try await sandbox.keys.channelKey(.wechat, on: database).keyID,
                            apiV3Key: .init(size: .bits256), timestamp: Int(Clock.nowMillis() / 1000), nonce: "forgednonce0000000000000000000001")
                    case .unionpay:
                        UnionPayWire.notification(
                            for: notice, signingKey: otherKey, certID: try await sandbox.keys.channelKey(.unionpay, on: database).keyID)
                    }
                #expect(try await client.notify(channel, forged).status == .badRequest, "\(channel) forged")
                // A valid signature over another amount: never paid, flagged for review.
                var cheap = notice
                cheap.amountFen = 1
                let underpaid = try await client.notify(channel, try await sandbox.message(for: cheap, on: database))
                #expect(underpaid.status == .ok, "\(channel): \(underpaid.text)")
                let flagged = try await client.order(citizen, order.id)
                #expect(flagged.state == .needsReview && flagged.reviewReason?.hasPrefix("amount_mismatch") == true, "\(channel): \(flagged.state)")
                // An order number that is not ours.
                var stranger = notice
                stranger.tradeNo = "TNOSUCHTRADE0001"
                stranger.eventID = "evt-stranger-\(channel)"
                stranger.channelTradeID = "4200000000000000000000000002"
                let strange = try await client.notify(channel, try await sandbox.message(for: stranger, on: database))
                #expect(strange.status == .notFound, "\(channel): \(strange.text)")
                // Another merchant's notice.
                var foreign = notice
                foreign.merchantID = channel == .wechat ? "1234567890" : "2088111111111111"
                foreign.eventID = "evt-foreign-\(channel)"
                foreign.channelTradeID = "4200000000000000000000000003"
                #expect(try await client.notify(channel, try await sandbox.message(for: foreign, on: database)).status == .badRequest)
            }
            for garbage in [[UInt8](), [0xFF, 0xFE, 0x00], Array("sign=&&&==".utf8), Array(repeating: 0x61, count: 17_000)] {
                let answer = try await client.notify(
                    .alipay, ChannelMessage(contentType: "application/x-www-form-urlencoded", headers: [:], body: garbage))
                #expect((400...499).contains(answer.status.code), "\(garbage.prefix(8)): \(answer.status) \(answer.text)")
            }
            try await expectLedgerBalanced(database)
        }
    }

    @Test("A WeChat notification older than five minutes, or with a nonce seen before, is refused", arguments: TestEngine.enabled)
    func wechatReplays(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            let order = try await client.passportOrder(citizen)
            let trade = try await client.startTrade(citizen, order.id, .wechat)
            #expect(try await client.confirmTrade(citizen, .wechat, trade, ["lose": true]).status == .ok)
            let past = ManualClock(Clock.nowMillis() - 301_000)
            let old = sandboxChannel(.wechat, database, runtime: .manual(past))
            let notice = try #require(try await database.read { db in try await old.query(tradeNo: trade, on: db) })
            let stale = try await client.notify(.wechat, try await old.message(for: notice, on: database))
            #expect(stale.status == .badRequest && stale.text.contains("notification_rejected"))
            let fresh = try await sandboxChannel(.wechat, database).message(for: notice, on: database)
            #expect(try await client.notify(.wechat, fresh).status == .ok)
            let replayed = try await client.notify(.wechat, fresh)
            #expect(replayed.status == .badRequest && replayed.text.contains("notification_replayed"))
            #expect(try await client.order(citizen, order.id).state == .paid)
        }
    }

    @Test("A lost notification is recovered by querying the channel; a late pay notice after a refund changes nothing", arguments: TestEngine.enabled)
    func lostAndOutOfOrder(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            let clerk = try await client.loginStaff(PaymentFixture.finance).accessToken
            let order = try await client.passportOrder(citizen)
            let trade = try await client.startTrade(citizen, order.id, .alipay)
            #expect(try await client.confirmTrade(citizen, .alipay, trade, ["lose": true]).status == .ok)
            // The phone returns from the payment app; the server asks the channel.
            let recovered = try await client.order(citizen, order.id)
            #expect(recovered.state == .paid && recovered.receiptLicenseId != nil)
            // A partial refund settles (its notice is delivered at once) before the lost pay notice turns up.
            let refund = try await client.refund(clerk, order.id, fen: 2_000)
            #expect(refund.status == .created, "\(refund.text)")
            _ = try await client.deliverNotifications(citizen)
            #expect(try await client.order(citizen, order.id).state == .partiallyRefunded)
            let sandbox = sandboxChannel(.alipay, database)
            let notice = try #require(try await database.read { db in try await sandbox.query(tradeNo: trade, on: db) })
            let late = try await client.notify(.alipay, try await sandbox.message(for: notice, on: database))
            #expect(late.status == .ok && late.text == "success")
            let after = try await client.order(citizen, order.id)
            #expect(after.state == .partiallyRefunded && after.refundedFen == 2_000)
            try await expectLedgerBalanced(database)
        }
    }

    @Test("Two channels both succeed for one order: one pays it, the other is refunded automatically and flagged", arguments: TestEngine.enabled)
    func doubleSuccess(engine: TestEngine) async throws {
        try await withTestAppDatabase(engine) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            let order = try await client.passportOrder(citizen)
            let first = try await client.startTrade(citizen, order.id, .alipay)
            let second = try await client.startTrade(citizen, order.id, .wechat)
            #expect(try await client.confirmTrade(citizen, .wechat, second).status == .ok)
            #expect(try await client.confirmTrade(citizen, .alipay, first).status == .ok)
            _ = try await client.deliverNotifications(citizen)
            let paid = try await client.order(citizen, order.id)
            #expect(paid.state == .paid && paid.channel == .wechat && paid.refundedFen == 0)
            #expect(paid.reviewReason == "second_success_refunded")
            let refunds = try await database.read { db in
                try await db.select().columns("trade_no", "state", "surplus").from("payment_refunds").all()
                    .map { (try $0.decode(column: "trade_no", as: String.self), try $0.decode(column: "state", as: String.self)) }
            }
            #expect(refunds.count == 1 && refunds.first?.0 == first && refunds.first?.1 == "succeeded")
            try await expectLedgerBalanced(database)
        }
    }

    @Test("A success at the moment of expiry pays; one after the order closed is refunded and the order needs review", arguments: TestEngine.enabled)
    func expiryRaces(engine: TestEngine) async throws {
        let clock = ManualClock()
        try await withTestApp(engine, configure: { $0.runtime = .manual(clock) }) { client, database in
            var citizen = try await client.loginCitizen().accessToken
            // Paid in the last second; the notification arrives after the deadline.
            let order = try await client.passportOrder(citizen)
            let trade = try await client.startTrade(citizen, order.id, .alipay)
            clock.set(Int(order.expiresAt) - 1_000)
            citizen = try await client.loginCitizen().accessToken  // a week on, a fresh token
            #expect(try await client.confirmTrade(citizen, .alipay, trade, ["delaySeconds": 5]).status == .ok)
            clock.advance(by: .seconds(10))
            _ = try await client.deliverNotifications(citizen)
            #expect(try await client.order(citizen, order.id).state == .paid)
            // Expired and closed (the phone looks after the deadline), then the payer's app completes anyway.
            let late = try await client.passportOrder(citizen)
            let lateTrade = try await client.startTrade(citizen, late.id, .unionpay)
            clock.set(Int(late.expiresAt) + 60_000)
            citizen = try await client.loginCitizen().accessToken
            #expect(try await client.order(citizen, late.id).state == .closed)
            #expect(try await client.confirmTrade(citizen, .unionpay, lateTrade).status == .conflict)
            #expect(try await client.confirmTrade(citizen, .unionpay, lateTrade, ["afterClose": true]).status == .ok)
            _ = try await client.deliverNotifications(citizen)
            let reviewed = try await client.order(citizen, late.id)
            #expect(reviewed.state == .refunded, "\(reviewed)")
            #expect(reviewed.state == .refunded && reviewed.reviewReason == "late_success_refunded" && reviewed.refundedFen == late.totalFen)
            #expect(try await client.post("/v1/payment-orders/\(late.id)/pay", json: ["channel": "alipay"], token: citizen).status == .conflict)
            try await expectLedgerBalanced(database)
        }
    }
}

/// The sandbox channels resend what is not acknowledged on their own schedules, and stop at the answer they expect.
@Suite struct PaymentResendTests {
    @Test(
        "Alipay resends an unacknowledged notification 8 times over about 25 hours with the same notify_id, then gives up",
        arguments: TestEngine.enabled)
    func alipaySchedule(engine: TestEngine) async throws {
        let clock = ManualClock()
        try await withTestApp(engine, configure: { $0.runtime = .manual(clock) }) { client, database in
            let citizen = try await client.loginCitizen().accessToken
            let order = try await client.passportOrder(citizen)
            let trade = try await client.startTrade(citizen, order.id, .alipay)
            // The platform cannot verify Alipay's notifications while its key is missing: every delivery is refused.
            _ = try await sandboxChannel(.alipay, database).keys.channelKey(.alipay, on: database)
            let stored = try await database.read { db in
                try #require(
                    try await db.select().columns("key_id", "public_pem", "created_at").from("payment_channel_keys").where(
                        "channel", .equal, "alipay"
                    ).first())
            }
            try await database.transaction { db in try await db.delete(from: "payment_channel_keys").where("channel", .equal, "alipay").run() }
            _ = try await client.confirmTrade(citizen, .alipay, trade)
            let start = clock.now
            var attempts: [Int] = []
            for _ in 0..<60 {
                clock.advance(by: .seconds(1800))
                _ = try await client.post("/sandbox/deliveries", json: [:] as [String: String], token: try await client.loginCitizen().accessToken)
                let row = try await database.read { db in
                    try #require(try await db.select().columns("attempts", "state").from("sandbox_deliveries").first())
                }
                let count = try row.decode(column: "attempts", as: Int.self)
                if attempts.last != count { attempts.append(count) }
            }
            let final = try await database.read { db in
                try #require(try await db.select().columns("attempts", "state", "event_id").from("sandbox_deliveries").first())
            }
            // The first attempt went out on confirmation; each later one after its wait.
            #expect(try final.decode(column: "attempts", as: Int.self) == 8 && attempts == Array(2...8), "\(attempts)")
            #expect(try final.decode(column: "state", as: String.self) == "gave_up")
            #expect(clock.now - start >= 24 * 3600 * 1000)
            // Its key back, the platform finds the payment by querying (the notification itself is over).
            try await database.transaction { db in
                try await db.insert(into: "payment_channel_keys").columns("channel", "key_id", "public_pem", "api_key", "created_at")
                    .values(
                        SQLBind("alipay"), SQLBind(try stored.decode(column: "key_id", as: String.self)),
                        SQLBind(try stored.decode(column: "public_pem", as: String.self)), SQLBind(String?.none),
                        SQLBind(try stored.decode(column: "created_at", as: Int64.self))
                    ).run()
            }
            let token = try await client.loginCitizen().accessToken
            #expect(try await client.order(token, order.id).state == .paid)
        }
    }
}
