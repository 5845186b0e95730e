import Foundation
import OneTripAPI
import OpenAPIRuntime
import SQLKit
import SyncCore

/// The payment routes: orders (open, list, read, find by payment code, pay, close, refund), channel notifications,
/// reconciliation, and the sandbox channels' own routes in dev mode.
extension APIImplementation {
    func createPaymentOrder(_ input: Operations.CreatePaymentOrder.Input) async throws -> Operations.CreatePaymentOrder.Output {
        let me = try await authenticate([.citizen, .enterprise, .clerk, .admin])
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let chosen = [body.decisionNumber != nil, body.feeItemCode != nil, body.caseId != nil].filter { $0 }.count
        guard chosen == 1 else {
            throw AppError(.invalidFeeLine, "Give exactly one of decisionNumber, feeItemCode, or caseId with lines.")
        }
        let staff = me.kind == .clerk || me.kind == .admin
        if body.caseId == nil, staff { throw AppError.forbidden("Staff open orders for cases only (caseId with lines).") }
        if body.caseId != nil, !staff { throw AppError.forbidden("A clerk opens a case's order; the case's applicant pays it.") }
        let request = try SyncJSON.encoder.encode(body)
        let key = input.headers.idempotencyKey
        let replay = try await database.transaction { [idempotency, payments, cases, runtime] db in
            try await idempotency.run(key: key, accountID: me.accountID, operation: "createPaymentOrder", request: request, on: db) {
                let (order, records): (PaymentOrder, [ChangeRecord])
                if let decision = body.decisionNumber {
                    (order, records) = try await payments.openFineOrder(decision, for: me.accountID, on: db)
                } else if let code = body.feeItemCode {
                    if body.lines != nil { throw AppError(.invalidFeeLine, "lines go with caseId.") }
                    (order, records) = try await payments.openFeeOrder(
                        .init(feeItemCode: code, quantity: body.quantity, priceCode: body.priceCode), for: me.accountID, on: db)
                } else {
                    let caseID = body.caseId ?? ""
                    guard PathID.isPlausible(caseID), let caseFile = try await cases.load(caseID, on: db),
                        me.kind == .admin || caseFile.departmentId == me.departmentID, caseFile.state != .draft
                    else { throw AppError.notFound("No case \(caseID.prefix(64)) of your department.") }
                    let lines = (body.lines ?? []).map {
                        PaymentOrderStore.LineRequest(
                            feeItemCode: $0.feeItemCode, quantity: $0.quantity, priceCode: $0.priceCode, amountFen: $0.amountFen)
                    }
                    (order, records) = try await payments.openCaseOrder(caseFile, lines: lines, on: db)
                }
                if !records.isEmpty { try await ChangeLog.append(records, on: db, now: runtime.now()) }
                return (201, try JSONEncoder().encode(order))
            }
        }
        return .created(.init(body: .json(try JSONDecoder().decode(PaymentOrder.self, from: replay.response))))
    }

    func listPaymentOrders(_ input: Operations.ListPaymentOrders.Input) async throws -> Operations.ListPaymentOrders.Output {
        let me = try await authenticate()
        let limit = input.query.limit ?? 50
        guard (1...200).contains(limit) else { throw AppError.invalidParameter("limit", "must be between 1 and 200") }
        let items = try await database.read { [payments] db in try await payments.orders.orders(of: me.accountID, limit: limit, on: db) }
        return .ok(.init(body: .json(.init(items: items))))
    }

    func getPaymentOrder(_ input: Operations.GetPaymentOrder.Input) async throws -> Operations.GetPaymentOrder.Output {
        let me = try await authenticate()
        var order = try await visibleOrder(input.path.id, to: me)
        if order.state.isPayable {
            try await payments.refresh(order.id)
            order = try await visibleOrder(order.id, to: me)
        }
        return .ok(.init(body: .json(order)))
    }

    func findPaymentOrderByCode(_ input: Operations.FindPaymentOrderByCode.Input) async throws -> Operations.FindPaymentOrderByCode.Output {
        let me = try await authenticate()
        let code = input.path.code
        guard PaymentCode.isValid(code) else {
            throw AppError(.invalidPaymentCode, "A payment code is 20 digits whose last is its check digit; check the notice again.")
        }
        let order = try await database.read { [payments] db -> PaymentOrder? in
            guard let id = try await payments.orders.id(ofPaymentCode: code, on: db) else { return nil }
            return try await payments.orders.read(id, on: db)
        }
        guard let order else { throw AppError.notFound("No order with payment code \(code).") }
        return .ok(.init(body: .json(redacted(order, for: me))))
    }

    func payPaymentOrder(_ input: Operations.PayPaymentOrder.Input) async throws -> Operations.PayPaymentOrder.Output {
        let me = try await authenticate([.citizen, .enterprise])
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let id = input.path.id
        guard PathID.isPlausible(id) else { throw AppError.notFound("No payment order \(id.prefix(64)).") }
        let trade = try await database.transaction { [payments, runtime] db in
            let started = try await payments.ledger.startTrade(id, channel: body.channel, on: db)
            try await ChangeLog.append(started.records, on: db, now: runtime.now())
            return started
        }
        return .ok(
            .init(
                body: .json(
                    .init(
                        tradeNo: trade.tradeNo, channel: body.channel, prepay: .init(additionalProperties: trade.prepay),
                        order: redacted(trade.order, for: me)))))
    }

    func closePaymentOrder(_ input: Operations.ClosePaymentOrder.Input) async throws -> Operations.ClosePaymentOrder.Output {
        let me = try await authenticate()
        let id = input.path.id
        let order = try await database.transaction { [payments, runtime] db -> PaymentOrder in
            guard PathID.isPlausible(id), let order = try await payments.orders.read(id, on: db), order.payerAccountId == me.accountID else {
                throw AppError.notFound("No payment order \(id.prefix(64)) of yours.")
            }
            guard order.state.isPayable else { throw AppError(.orderNotPayable, "The order is \(order.state.label); it cannot be closed.") }
            let records = try await payments.ledger.close(id, on: db)
            try await ChangeLog.append(records, on: db, now: runtime.now())
            return try await payments.orders.read(id, on: db) ?? order
        }
        return .ok(.init(body: .json(order)))
    }

    func refundPaymentOrder(_ input: Operations.RefundPaymentOrder.Input) async throws -> Operations.RefundPaymentOrder.Output {
        let me = try await authenticate([.clerk, .admin])
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        let reason = body.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(reason.unicodeScalars.count) else { throw AppError.badRequest("reason: 1–200 characters.") }
        let id = input.path.id
        let request = try SyncJSON.encoder.encode(body)
        let replay = try await database.transaction { [idempotency, payments, runtime] db in
            try await idempotency.run(key: input.headers.idempotencyKey, accountID: me.accountID, operation: "refund:\(id)", request: request, on: db)
            {
                guard PathID.isPlausible(id), let order = try await payments.orders.read(id, on: db),
                    me.kind == .admin || order.departmentId == me.departmentID
                else { throw AppError.notFound("No payment order \(id.prefix(64)) of your department.") }
                let refund = try await payments.ledger.refund(id, amountFen: body.amountFen, reason: reason, by: me.accountID, on: db)
                try await ChangeLog.append(refund.records, on: db, now: runtime.now())
                let answer = Components.Schemas.PaymentRefund(refundNo: refund.refundNo, amountFen: body.amountFen, order: refund.order)
                return (201, try JSONEncoder().encode(answer))
            }
        }
        return .created(.init(body: .json(try JSONDecoder().decode(Components.Schemas.PaymentRefund.self, from: replay.response))))
    }

    func receivePaymentNotification(_ input: Operations.ReceivePaymentNotification.Input) async throws
        -> Operations.ReceivePaymentNotification.Output
    {
        guard case .any(let body) = input.body else { throw AppError.badRequest("Expected the channel's notification body.") }
        let contentType = RequestScope.current?.contentType ?? ""
        let bytes: [UInt8]
        do { bytes = try await [UInt8](collecting: body, upTo: PaymentNotifications.maxBytes) } catch {
            throw AppError.payloadTooLarge(limit: PaymentNotifications.maxBytes)
        }
        var headers: [String: String] = [:]
        headers["Wechatpay-Signature"] = input.headers.wechatpaySignature
        headers["Wechatpay-Timestamp"] = input.headers.wechatpayTimestamp
        headers["Wechatpay-Nonce"] = input.headers.wechatpayNonce
        headers["Wechatpay-Serial"] = input.headers.wechatpaySerial
        let answer = try await payments.notifications.receive(
            input.path.channel, ChannelMessage(contentType: contentType, headers: headers, body: bytes))
        return .ok(.init(body: .plainText(HTTPBody(answer.body))))
    }

    func getPaymentReconciliation(_ input: Operations.GetPaymentReconciliation.Input) async throws -> Operations.GetPaymentReconciliation.Output {
        _ = try await authenticate([.admin])
        let day = input.query.date
        guard WorkingCalendar.isValidDay(day) else { throw AppError.invalidParameter("date", "a real YYYY-MM-DD date") }
        let report = try await payments.reconciliation.report(day: day)
        return .ok(
            .init(
                body: .json(
                    .init(
                        date: report.date, matched: report.count(.matched), missingInLedger: report.count(.missingInLedger),
                        missingInBill: report.count(.missingInBill), mismatched: report.count(.mismatched),
                        entries: report.entries.map { entry in
                            .init(
                                channel: entry.channel, kind: entry.kind == .payment ? .payment : .refund, tradeNo: entry.tradeNo,
                                refundNo: entry.refundNo,
                                billFen: entry.billFen, ledgerFen: entry.ledgerFen,
                                status: Components.Schemas.ReconciliationEntry.StatusPayload(rawValue: entry.status.rawValue) ?? .mismatched)
                        },
                        totals: report.totals.map { .init(category: $0.category, paidFen: $0.paidFen, refundedFen: $0.refundedFen) }))))
    }

    func confirmSandboxTrade(_ input: Operations.ConfirmSandboxTrade.Input) async throws -> Operations.ConfirmSandboxTrade.Output {
        _ = try await authenticate([.citizen, .enterprise])
        guard let sandbox = payments.sandbox[input.path.channel] else { throw AppError.notFound("No sandbox channels on this server.") }
        let options: Operations.ConfirmSandboxTrade.Input.Body.JsonPayload? =
            switch input.body {
            case .json(let body): body
            case nil: nil
            }
        let tradeNo = input.path.tradeNo
        guard PathID.isPlausible(tradeNo) else { throw AppError.notFound("No trade \(tradeNo.prefix(64)).") }
        let state = try await database.transaction { db in
            try await sandbox.confirm(
                tradeNo: tradeNo, declined: options?.declined ?? false, afterClose: options?.afterClose ?? false,
                delivery: .init(duplicates: options?.duplicates ?? 0, lose: options?.lose ?? false, delaySeconds: options?.delaySeconds ?? 0), on: db)
        }
        // The first attempt goes out at once rather than on the next tick of the delivery job.
        _ = try? await payments.deliverDue()
        return .ok(.init(body: .json(.init(state: state))))
    }

    func runSandboxDeliveries(_ input: Operations.RunSandboxDeliveries.Input) async throws -> Operations.RunSandboxDeliveries.Output {
        _ = try await authenticate()
        guard !payments.sandbox.isEmpty else { throw AppError.notFound("No sandbox channels on this server.") }
        return .ok(.init(body: .json(.init(acknowledged: try await payments.deliverDue()))))
    }

    func getSandboxBill(_ input: Operations.GetSandboxBill.Input) async throws -> Operations.GetSandboxBill.Output {
        _ = try await authenticate([.admin])
        guard let sandbox = payments.sandbox[input.path.channel] else { throw AppError.notFound("No sandbox channels on this server.") }
        let day = input.query.date
        guard WorkingCalendar.isValidDay(day) else { throw AppError.invalidParameter("date", "a real YYYY-MM-DD date") }
        let bill = try await database.read { db in try await sandbox.bill(day: day, on: db) }
        return .ok(.init(body: .plainText(HTTPBody(bill))))
    }

    /// The order as someone holding only its code sees it: everything but who the payer is.
    private func redacted(_ order: PaymentOrder, for me: Identity) -> PaymentOrder {
        guard order.payerAccountId != me.accountID, me.kind != .admin, !(me.kind == .clerk && me.departmentID == order.departmentId) else {
            return order
        }
        var shown = order
        shown.payerAccountId = ""
        return shown
    }

    /// An order the caller may see: their own, their department's (clerks), any (admins); else 404.
    private func visibleOrder(_ id: String, to me: Identity) async throws -> PaymentOrder {
        guard PathID.isPlausible(id), let order = try await database.read({ [payments] db in try await payments.orders.read(id, on: db) }),
            order.payerAccountId == me.accountID || me.kind == .admin || (me.kind == .clerk && order.departmentId == me.departmentID)
        else { throw AppError.notFound("No payment order \(id.prefix(64)).") }
        return order
    }
}

extension ProblemCode {
    /// A payment code that is not 20 digits with a valid check digit.
    static let invalidPaymentCode = ProblemCode("invalid_payment_code", .badRequest)
}
