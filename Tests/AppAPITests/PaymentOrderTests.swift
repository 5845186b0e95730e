import Foundation
import HTTPTypes
import HummingbirdTesting
import OneTripAPI
import SQLKit
import SyncCore
import Testing

@testable import AppAPI

/// Opening payment orders: fines by decision number with the day's late fee, fee items priced by the catalog, case
/// fees when a clerk requires payment, and `Idempotency-Key` on creation.
@Suite struct PaymentOrderTests {
    @Test(
        "A fine's order carries today's 加处罚款 (3% a day overdue, capped), is found by its payment code, and is opened once per day",
        arguments: TestEngine.enabled)
    func fineOrders(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen().accessToken
            let relative = try await client.loginCitizen(Demo.citizen2).accessToken
            let today = WorkingCalendar.day(fromMillis: Int64(Clock.nowMillis()))
            for decision in Fines.all.prefix(6) {
                let answer = try await client.createOrder(citizen, ["decisionNumber": decision.decisionNumber])
                #expect(answer.status == .created, "\(answer.text)")
                let order = try answer.json(PaymentOrder.self)
                let lateFee = LateFee.fen(fineFen: decision.amountFen, dueOn: decision.dueOn, paidOn: today)
                #expect(order.lateFeeFen == lateFee && order.totalFen == decision.amountFen + lateFee, "\(decision.decisionNumber)")
                #expect(order.lateFeeFen <= decision.amountFen)
                #expect(PaymentCode.isValid(order.paymentCode) && order.state == .created && order.decisionNumber == decision.decisionNumber)
                // Anyone holding the notice finds it by its code; a mistyped code is refused by its check digit.
                let found = try await client.get("/v1/payment-codes/\(order.paymentCode)", token: relative)
                #expect(try found.json(PaymentOrder.self).id == order.id)
                var typo = Array(order.paymentCode)
                typo[7] = typo[7] == "1" ? "2" : "1"
                let mistyped = try await client.get("/v1/payment-codes/\(String(typo))", token: relative)
                #expect(mistyped.status == .badRequest && mistyped.text.contains("invalid_payment_code"))
                // Asking again (another key) the same day returns the open order, not a second one.
                let again = try await client.createOrder(relative, ["decisionNumber": decision.decisionNumber])
                #expect(try again.json(PaymentOrder.self).id == order.id)
            }
            let unknown = try await client.createOrder(citizen, ["decisionNumber": "杭不存在〔2026〕1号"])
            #expect(unknown.status == .notFound && unknown.text.contains("unknown_decision"))
            // A relative's order for a fine is theirs, not the party's.
            let mine = try await client.get("/v1/payment-orders", token: citizen).json(Components.Schemas.PaymentOrderList.self)
            #expect(mine.items.count == 6)
        }
    }

    @Test(
        "Fee items are priced by the catalog, never by the payer: fixed × quantity, a table entry, assessed fees refused",
        arguments: TestEngine.enabled)
    func feePricing(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen().accessToken
            let two = try await client.createOrder(citizen, ["feeItemCode": PaymentFixture.passportFee, "quantity": 2])
            #expect(try two.json(PaymentOrder.self).totalFen == 2 * PaymentFixture.passportFen)
            let items = try await client.get("/v1/fee-items").json(Items<FeeItem>.self).items
            let table = try #require(items.first { $0.effectivePricing == .table && $0.category != .fines })
            let price = try #require(table.prices?.first)
            let priced = try await client.createOrder(citizen, ["feeItemCode": table.code, "priceCode": price.code])
            #expect(priced.status == .created, "\(priced.text)")
            #expect(try priced.json(PaymentOrder.self).totalFen == price.amountFen)
            let noCode = try await client.createOrder(citizen, ["feeItemCode": table.code])
            #expect(noCode.status == .unprocessableContent && noCode.text.contains("invalid_fee_line"))
            let assessed = try #require(items.first { $0.effectivePricing == .assessed && $0.category != .fines })
            let selfAssessed = try await client.createOrder(citizen, ["feeItemCode": assessed.code])
            #expect(selfAssessed.status == .unprocessableContent && selfAssessed.text.contains("fee_assessed"))
            let fine = try await client.createOrder(citizen, ["feeItemCode": "FEE-FINE-TRAFFIC"])
            #expect(fine.status == .unprocessableContent && fine.text.contains("fee_assessed"))
            for bad: [String: Any] in [
                ["feeItemCode": PaymentFixture.passportFee, "quantity": 100], ["feeItemCode": PaymentFixture.passportFee, "quantity": -1],
                ["feeItemCode": PaymentFixture.passportFee, "decisionNumber": Fines.all[0].decisionNumber], [:],
                ["feeItemCode": "FEE-NOPE"], ["feeItemCode": PaymentFixture.passportFee, "quantity": 0],
            ] {
                let answer = try await client.createOrder(citizen, bad)
                #expect((400...499).contains(answer.status.code), "\(bad): \(answer.status) \(answer.text)")
            }
            let staff = try await client.loginStaff(Demo.admin).accessToken
            let byStaff = try await client.createOrder(staff, ["feeItemCode": PaymentFixture.passportFee])
            #expect(byStaff.status == .forbidden)
        }
    }

    @Test("Creation takes an Idempotency-Key: the same key and body answer the same order, another body 422", arguments: TestEngine.enabled)
    func idempotentCreation(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen().accessToken
            let key = "order-retry-\(UUID().uuidString)"
            let first = try await client.createOrder(citizen, key: key, ["feeItemCode": PaymentFixture.passportFee])
            // A retry after a timeout: the same answer, no second order.
            let retry = try await client.createOrder(citizen, key: key, ["feeItemCode": PaymentFixture.passportFee])
            #expect(first.status == .created && retry.status == .created)
            #expect(try first.json(PaymentOrder.self).id == retry.json(PaymentOrder.self).id)
            let other = try await client.createOrder(citizen, key: key, ["feeItemCode": PaymentFixture.passportFee, "quantity": 3])
            #expect(other.status == .unprocessableContent && other.text.contains("idempotency_key_reused"))
            let orders = try await client.get("/v1/payment-orders", token: citizen).json(Components.Schemas.PaymentOrderList.self)
            #expect(orders.items.count == 1)
        }
    }

    @Test(
        "requirePayment opens the case's order from the matter's fees; paying it approves the case, issues its license and the e-receipt",
        arguments: TestEngine.enabled)
    func caseFees(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let phone = try await client.walletPhone()
            let police = try await client.loginStaff(WalletFixture.police).accessToken
            let created = try await client.createCase(
                phone.token, body: ["matterCode": WalletFixture.idCardMatter, "form": ["address": "杭州市西湖区文三路 90 号"]])
            let caseID = try #require(try created.json(Components.Schemas.CaseList.self).items.first?.id)
            for action in ["accept", "startReview", "requirePayment"] {
                let answer = try await client.act(police, caseID, action)
                #expect(answer.status == .ok, "\(action): \(answer.text)")
            }
            let orders = try await client.get("/v1/payment-orders", token: phone.token).json(Components.Schemas.PaymentOrderList.self).items
            let order = try #require(orders.first { $0.caseId == caseID })
            #expect(order.totalFen == 2000 && order.lines.map(\.feeItemCode) == ["FEE-ID-CARD"] && order.payerAccountId != "")
            // The clerk cannot open a second order for it.
            let second = try await client.createOrder(police, ["caseId": caseID, "lines": [["feeItemCode": "FEE-ID-CARD"]]])
            #expect(second.status == .conflict && second.text.contains("case_not_awaiting_payment"))
            let trade = try await client.startTrade(phone.token, order.id, .wechat)
            try await client.confirmTrade(phone.token, .wechat, trade)
            let paid = try await client.order(phone.token, order.id)
            #expect(paid.state == .paid && paid.channel == .wechat && paid.receiptLicenseId != nil)
            let caseFile = try await client.get("/v1/cases/\(caseID)", token: phone.token).json(Case.self)
            #expect(caseFile.state == .approved)
            let wallet = try await client.get("/v1/wallet/licenses", token: phone.token).json(LicenseList.self).items
            #expect(wallet.contains { $0.caseId == caseID && $0.type == "resident_id_card" })
            let receipt = try #require(wallet.first { $0.id == paid.receiptLicenseId })
            #expect(receipt.type == "e_receipt" && receipt.fields["amount_fen"] == "2000" && receipt.fields["payer"] != nil)
        }
    }

    @Test(
        "A clerk opens the order of a case whose fees the matter cannot price (assessed amounts within the item's bound)",
        arguments: TestEngine.enabled)
    func clerkOpensAssessedCaseOrder(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let citizen = try await client.loginCitizen().accessToken
            let traffic = try await client.loginStaff(WalletFixture.traffic).accessToken
            let police = try await client.loginStaff(WalletFixture.police).accessToken
            // 机动车驾驶人考试: its fee is a price table; no order opens by itself.
            let created = try await client.createCase(
                citizen, body: ["matterCode": WalletFixture.drivingTestMatter, "materials": [["name": "申请人居民身份证", "paper": true]]])
            let caseID = try #require(try created.json(Components.Schemas.CaseList.self).items.first?.id, "\(created.text)")
            for action in ["accept", "startReview", "requirePayment"] { _ = try await client.act(traffic, caseID, action) }
            #expect(try await client.get("/v1/payment-orders", token: citizen).json(Components.Schemas.PaymentOrderList.self).items.isEmpty)
            let items = try await client.get("/v1/fee-items").json(Items<FeeItem>.self).items
            let exam = try #require(items.first { $0.code == "FEE-DRIVER-EXAM" })
            let price = try #require(exam.prices?.first)
            let foreign = try await client.createOrder(
                police, ["caseId": caseID, "lines": [["feeItemCode": "FEE-DRIVER-EXAM", "priceCode": price.code]]])
            #expect(foreign.status == .notFound)
            let byCitizen = try await client.createOrder(
                citizen, ["caseId": caseID, "lines": [["feeItemCode": "FEE-DRIVER-EXAM", "priceCode": price.code]]])
            #expect(byCitizen.status == .forbidden)
            let wrongItem = try await client.createOrder(traffic, ["caseId": caseID, "lines": [["feeItemCode": PaymentFixture.passportFee]]])
            #expect(wrongItem.status == .unprocessableContent)
            let opened = try await client.createOrder(
                traffic, ["caseId": caseID, "lines": [["feeItemCode": "FEE-DRIVER-EXAM", "priceCode": price.code]]])
            #expect(opened.status == .created, "\(opened.text)")
            let order = try opened.json(PaymentOrder.self)
            #expect(order.totalFen == price.amountFen && order.payerAccountId != "" && order.caseId == caseID)
            #expect(try await client.get("/v1/payment-orders/\(order.id)", token: citizen).status == .ok)
            #expect(try await client.get("/v1/payment-orders/\(order.id)", token: police).status == .notFound)
        }
    }
}
