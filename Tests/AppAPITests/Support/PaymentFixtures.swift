import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OneTripAPI
import SQLKit
import SyncCore
import Testing

@testable import AppAPI

/// The sample penalty decisions (`seeds/fines.json`).
enum Fines {
    static let all: [PenaltyDecision] = {
        let url = repositoryRoot.appendingPathComponent("seeds/fines.json")
        return (try? JSONDecoder().decode([PenaltyDecision].self, from: Data(contentsOf: url))) ?? []
    }()

    /// A decision of the demo citizen's that is due on or after `day`, and one overdue by 1–33 days.
    static func notYetDue(on day: String) -> PenaltyDecision? { all.first { $0.dueOn >= day } }
    static func overdue(on day: String) -> PenaltyDecision? {
        all.first { decision in
            let late = LateFee.fen(fineFen: decision.amountFen, dueOn: decision.dueOn, paidOn: day)
            return late > 0 && late < decision.amountFen
        }
    }
}

/// A fixed fee a citizen may pay by itself: 普通护照工本费 (¥120).
enum PaymentFixture {
    static let passportFee = "FEE-PASSPORT"
    static let passportFen = 12_000
    static let finance = (username: "clerk.exitentry", password: "Clerk2026exitentry")
}

extension TestClientProtocol {
    func createOrder(_ token: String, key: String = UUID().uuidString, _ body: [String: Any]) async throws -> TestResponse {
        try await execute(
            uri: "/v1/payment-orders", method: .post,
            headers: [.contentType: "application/json", .authorization: "Bearer \(token)", HTTPField.Name("Idempotency-Key")!: key],
            body: try jsonBody(body))
    }

    /// A fresh passport-fee order of `token`'s account.
    func passportOrder(_ token: String) async throws -> PaymentOrder {
        let answer = try await createOrder(token, ["feeItemCode": PaymentFixture.passportFee])
        #expect(answer.status == .created, "\(answer.text)")
        return try answer.json(PaymentOrder.self)
    }

    /// Starts a trade; returns its number.
    func startTrade(_ token: String, _ orderID: String, _ channel: PaymentChannel) async throws -> String {
        let answer = try await post("/v1/payment-orders/\(orderID)/pay", json: ["channel": channel.rawValue], token: token)
        #expect(answer.status == .ok, "pay: \(answer.text)")
        return try answer.json([String: JSONValue].self)["tradeNo"]?.string ?? ""
    }

    /// The payment app confirms the trade (with faults); the first delivery goes out at once.
    @discardableResult
    func confirmTrade(_ token: String, _ channel: PaymentChannel, _ tradeNo: String, _ options: [String: Any] = [:]) async throws -> TestResponse {
        try await post("/sandbox/\(channel.rawValue)/trades/\(tradeNo)/confirm", json: options, token: token)
    }

    func order(_ token: String, _ id: String) async throws -> PaymentOrder {
        let answer = try await get("/v1/payment-orders/\(id)", token: token)
        #expect(answer.status == .ok, "\(answer.text)")
        return try answer.json(PaymentOrder.self)
    }

    func deliverNotifications(_ token: String) async throws -> Int {
        let answer = try await post("/sandbox/deliveries", json: [:] as [String: String], token: token)
        #expect(answer.status == .ok, "\(answer.text)")
        return try answer.json([String: Int].self)["acknowledged"] ?? -1
    }

    /// Posts a channel message over HTTP as the channel would.
    func notify(_ channel: PaymentChannel, _ message: ChannelMessage) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: message.contentType]
        for (name, value) in message.headers { headers[HTTPField.Name(name)!] = value }
        return try await execute(
            uri: "/v1/payments/notify/\(channel.rawValue)", method: .post, headers: headers, body: ByteBuffer(bytes: message.body))
    }

    func refund(_ token: String, _ orderID: String, fen: Int, key: String = UUID().uuidString) async throws -> TestResponse {
        try await execute(
            uri: "/v1/payment-orders/\(orderID)/refunds", method: .post,
            headers: [.contentType: "application/json", .authorization: "Bearer \(token)", HTTPField.Name("Idempotency-Key")!: key],
            body: try jsonBody(["amountFen": fen, "reason": "多缴退还"]))
    }

    /// A paid passport order: opened, paid through `channel`, notification delivered.
    func paidPassportOrder(_ token: String, channel: PaymentChannel = .alipay) async throws -> PaymentOrder {
        let order = try await passportOrder(token)
        let trade = try await startTrade(token, order.id, channel)
        let confirmed = try await confirmTrade(token, channel, trade)
        #expect(confirmed.status == .ok, "\(confirmed.text)")
        let paid = try await self.order(token, order.id)
        #expect(paid.state == .paid)
        return paid
    }
}

/// The sandbox channel over a test app's database: makes genuine notifications (signed with the channel's own key)
/// that tests tamper with, replay or post out of order.
func sandboxChannel(_ channel: PaymentChannel, _ database: any Database, runtime: Runtime = .live) -> SandboxChannel {
    SandboxChannel(
        channel: channel, merchants: SandboxMerchants.load(from: repositoryRoot.appendingPathComponent("seeds")), keys: SandboxKeys(),
        runtime: runtime)
}

/// The ledger's promises, checked over every order: the counted trade's payment equals the order's total (and no
/// payment is entered without one), settled refunds equal what the order says was refunded and never exceed what
/// was paid, every surplus payment is matched by its refund once that settles, and a paid order has its one counted
/// trade. The ledger's keys cannot repeat a trade or a refund; these sums show no fen is counted twice.
func expectLedgerBalanced(_ database: any Database, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    try await database.read { db in
        let orders = try await db.select().columns("id", "state", "total_fen", "refunded_fen").from("payment_orders").all()
        for row in orders {
            let id = try row.decode(column: "id", as: String.self)
            let state = try #require(PaymentOrderState(rawValue: try row.decode(column: "state", as: String.self)))
            let total = try row.decode(column: "total_fen", as: Int.self)
            let refunded = try row.decode(column: "refunded_fen", as: Int.self)
            let entries = try await db.select().columns("kind", "amount_fen").from("payment_ledger").where("order_id", .equal, id).all()
            func sum(_ kind: String) throws -> Int {
                try entries.filter { try $0.decode(column: "kind", as: String.self) == kind }.reduce(0) {
                    $0 + (try $1.decode(column: "amount_fen", as: Int.self))
                }
            }
            let counted = try await db.select().column("trade_no").from("payment_trades").where("order_id", .equal, id).where("counted", .equal, 1)
                .all().count
            #expect(counted <= 1, "order \(id): \(counted) counted trades", sourceLocation: sourceLocation)
            if state.wasPaid { #expect(counted == 1, "order \(id) is \(state) without a counted trade", sourceLocation: sourceLocation) }
            #expect(
                try sum("payment") == (counted == 1 ? total : 0), "order \(id) (\(state)): payments for a total of \(total)",
                sourceLocation: sourceLocation)
            #expect(-(try sum("refund")) == refunded, "order \(id): settled refunds vs refundedFen \(refunded)", sourceLocation: sourceLocation)
            #expect(refunded <= (try sum("payment")), "order \(id): refunded more than paid", sourceLocation: sourceLocation)
            let pendingSurplus = try await db.select().column("refund_no").from("payment_refunds").where("order_id", .equal, id)
                .where("state", .equal, "pending").where("surplus", .equal, 1).all().count
            if pendingSurplus == 0 {
                #expect(
                    try sum("surplus_payment") + sum("surplus_refund") == 0, "order \(id): a surplus payment not returned",
                    sourceLocation: sourceLocation)
            }
        }
    }
}

/// A list answer's `items`.
struct Items<T: Decodable>: Decodable { var items: [T] }
