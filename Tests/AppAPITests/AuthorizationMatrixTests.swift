import Foundation
import SyncCore
import Testing

@testable import AppAPI

/// Every operation of openapi.yaml × every kind of caller, with the exact answer each gets (issue 9, finding S11 item 11).
/// A new operation fails `everyOperationHasARow` until it has a row; a new capability adds its fixtures and rows.
@Suite struct AuthorizationMatrixTests {
    @Test("S11: every operation in openapi.yaml has a row in the authorization matrix, and every row names one")
    func everyOperationHasARow() throws {
        let contract = try String(contentsOf: repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let operations = Set(
            contract.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("operationId:") }
                .map { $0.dropFirst("operationId:".count).trimmingCharacters(in: .whitespaces) })
        let rows = Set(AuthorizationMatrix.rows.map(\.operation))
        #expect(operations.count >= 42, "the line scan finds the contract's operations")
        #expect(operations.subtracting(rows).sorted() == [], "operations without a row")
        #expect(rows.subtracting(operations).sorted() == [], "rows for operations the contract does not have")
    }

    @Test("Every synced entity type is in the contract: the EntityType enum and x-onetrip-entities")
    func everySyncedEntityTypeIsInTheContract() throws {
        let contract = try String(contentsOf: repositoryRoot.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let lines = contract.split(separator: "\n").map(String.init)
        let enumLine = try #require(lines.firstIndex { $0 == "    EntityType:" }.map { lines[$0 + 2] })
        let listed = Set(enumLine.split(separator: "[").last?.dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? [])
        let start = try #require(lines.firstIndex { $0 == "x-onetrip-entities:" })
        let mapped = Set(
            lines[(start + 1)...].prefix { $0.hasPrefix("  ") }.map { $0.trimmingCharacters(in: .whitespaces).split(separator: ":")[0] }.map(
                String.init))
        let synced = Set(SyncSchema.oneTrip.entities.values.filter { !$0.serverOnly }.map(\.type.rawValue))
        #expect(listed == synced, "EntityType enum")
        #expect(mapped == synced, "x-onetrip-entities")
    }

    @Test("S11: every route answers each kind of caller exactly, and shows citizen A's data to no one else", arguments: TestEngine.enabled)
    func everyRouteAnswersEveryCallerExactly(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let fixtures = try await AuthorizationMatrix.Fixtures.make(client)
            for row in AuthorizationMatrix.rows {
                for caller in AuthorizationMatrix.Caller.executionOrder {
                    try await AuthorizationMatrix.check(row, caller, fixtures, client)
                }
            }
        }
    }
}

extension AuthorizationMatrix {
    /// The rules, from README.md ("Identity and tokens", "Delta sync", "Cases", "Appointments and queue tickets") and the
    /// handlers: applicants alone apply, upload, book and take tickets (staff and kiosks 403); a clerk reads and acts on
    /// the submitted cases of their department only; admins read every case (drafts too, deliberately) and cited files;
    /// another account's ids answer 404; staff running an applicant mutator get the verdict `forbidden`. Rows run in
    /// order, the owner last, so a row that changes a fixture comes after those that read it.
    static var rows: [Row] {
        let a = Caller.citizenA
        return [
            .everyone("getHealth", .get("/healthz")),
            .everyone("getReadiness", .get("/readyz")),
            .everyone("getMetrics", .get("/metrics")),
            .everyone("getOpenAPIDocument", .get("/openapi.yaml")),
            .everyone("getAccessTokenKeys", .get("/.well-known/jwks.json")),
            // One answer per caller (clk✗ clerk.police, another department; clk✓ clerk.realestate, handling A's cases):
            //   anon A    B    ent  clk✗ clk✓ adm  kiosk
            Row(
                "register", "a new citizen per caller",
                "202  202  202  202  202  202  202  202"
            ) { _, caller in
                .post(
                    "/v1/auth/register",
                    [
                        "kind": "citizen", "idNumber": newIDNumber(caller), "name": "矩阵测试", "phone": "1385710\(1000 + caller.rawValue)",
                        "password": "Matrix2026pass",
                    ])
            },
            Row(
                "login", "citizen A's password",
                "200  200  200  200  200  200  200  200", mayShowA: Set(Caller.allCases)
            ) { _, _ in
                .post(
                    "/v1/auth/login",
                    [
                        "idNumber": Demo.citizen.idNumber, "password": Demo.citizen.password, "device": ["name": "矩阵", "platform": "cli"],
                    ])
            },
            Row("refresh", "a refresh token nobody was given", String(repeating: "401:invalid_refresh_token ", count: 8)) { _, _ in
                .post("/v1/auth/refresh", ["refreshToken": "not-a-refresh-token"])
            },
            Row(
                "logout", "the caller's own session",
                "401  204  204  204  204  204  204  204", session: .fresh
            ) { _, _ in .post("/v1/auth/logout") },
            Row(
                "getMe", "the caller",
                "401  200  200  200  200  200  200  200"
            ) { _, _ in .get("/v1/me") },
            Row(
                "listMyDevices", "the caller's devices",
                "401  200  200  200  200  200  200  200"
            ) { _, _ in .get("/v1/me/devices") },
            Row(
                "revokeMyDevice", "A's other device",
                "401  204  404  404  404  404  404  404"
            ) { fx, _ in .delete("/v1/me/devices/\(fx.device)") },
            Row(
                "createStaffAccount", "a new clerk",
                "401  403  403  403  403  403  201  403"
            ) { _, caller in
                .post(
                    "/v1/admin/accounts",
                    [
                        "kind": "clerk", "username": "matrix.clerk\(caller.rawValue)", "name": "矩阵窗口", "password": "Matrix2026clerk",
                        "departmentId": "hz-tax",
                    ])
            },
            Row(
                "syncPull", "every scope the caller may read",
                "401  200  200  200  200  200  200  200", mayShowA: [a, .clerk]
            ) { _, caller in
                .post("/v1/sync/pull", ["clientId": "matrix-pull-\(caller.rawValue)"])
            },
            Row(
                "syncPush", "case.saveDraft on A's draft",
                "401  push:applied  push:id_taken  push:id_taken  push:forbidden  push:forbidden  push:forbidden  push:forbidden"
            ) { fx, caller in
                let fields = ["房屋坐落": "矩阵路\(caller.rawValue)号"]
                let edit = mutation(1, "case.saveDraft", ["caseId": fx.draft, "matterCode": "330100-RE-0004", "fields": fields])
                return .post("/v1/sync/push", ["clientId": "matrix-push-\(caller.rawValue)", "mutations": [edit]])
            },
            Row(
                "syncEvents", "A's user scope",
                "401  200 " + String(repeating: " 403:scope_forbidden", count: 6),
                session: .fresh, streams: true
            ) { fx, _ in .get("/v1/sync/events?scopes=user:\(fx.accountA)") },
            Row(
                "uploadBlob", "a new file per caller",
                "401  201  201  201  403  403  403  403"
            ) { _, caller in
                let pdf = Data("%PDF-1.4 matrix \(caller.rawValue)".utf8)
                return Probe(method: .post, path: "/v1/blobs", file: pdf, headers: ["Content-Type": "application/pdf"])
            },
            Row(
                "downloadBlob", "A's file, cited by A's submitted case",
                "401  200  404  404  404  200  200  404"
            ) { fx, _ in .get("/v1/blobs/\(fx.citedBlob)") },
            Row(
                "downloadBlob", "A's file, cited by no case",
                "401  200  404  404  404  404  404  404"
            ) { fx, _ in .get("/v1/blobs/\(fx.uncitedBlob)") },
            Row(
                "createCase", "a draft of 居民身份证换领 (citizens only)",
                "401  201  201  422:applicant_kind_not_allowed  403  403  403  403"
            ) { _, caller in
                let key = ["Idempotency-Key": "matrix-create-\(caller.rawValue)"]
                return .post("/v1/cases", ["matterCode": "330100-PSN-0001", "submit": false], headers: key)
            },
            Row(
                "createCase", "a case citing A's file",
                "401  201  422:invalid_args  422:invalid_args  403  403  403  403"
            ) { fx, caller in
                var materials = transferMaterials
                materials[0] = ["name": "买卖双方居民身份证", "blobSha256": fx.uncitedBlob]
                let key = ["Idempotency-Key": "matrix-cite-\(caller.rawValue)"]
                return .post("/v1/cases", ["matterCode": "330100-RE-0004", "materials": materials], headers: key)
            },
            Row(
                "listMyCases", "the caller's cases",
                "401  200  200  200  200  200  200  200"
            ) { _, _ in .get("/v1/cases") },
            Row(
                "getCase", "A's submitted case",
                "401  200  404  404  404  200  200  404", mayShowA: [a, .clerk, .admin]
            ) { fx, _ in .get("/v1/cases/\(fx.submittedCase)") },
            Row(
                "getCase", "A's draft",
                "401  200  404  404  404  404  200  404", mayShowA: [a, .admin]
            ) { fx, _ in .get("/v1/cases/\(fx.draft)") },
            Row(
                "withdrawCase", "A's submitted case",
                "401  200  404  404  403  403  403  403"
            ) { fx, _ in .post("/v1/cases/\(fx.caseToWithdraw)/withdraw", ["reason": "矩阵"]) },
            Row(
                "supplementCase", "A's case in 补正",
                "401  200  404  404  403  403  403  403"
            ) { fx, _ in
                .post("/v1/cases/\(fx.caseInCorrection)/supplement", ["materials": [["name": "结婚证", "paper": true]]])
            },
            Row(
                "rateCase", "A's completed case",
                "401  200  404  404  403  403  403  403"
            ) { fx, _ in .post("/v1/cases/\(fx.completedCase)/rating", ["level": 5]) },
            Row(
                "listWorkbenchCases", "the clerk's department queue",
                "401  403  403  403  200  200  403  403", mayShowA: [a, .clerk]
            ) { _, _ in .get("/v1/workbench/cases?limit=200") },
            Row(
                "listRectifications", "rectification tasks",
                "401  403  403  403  200  200  200  403"
            ) { _, _ in .get("/v1/workbench/rectifications") },
            Row(
                "actOnCase", "accept A's submitted case",
                "401  403  403  403  404  200  403  403", mayShowA: [a, .clerk]
            ) { fx, _ in
                .post("/v1/workbench/cases/\(fx.caseToAccept)/actions", ["action": "accept"])
            },
            .everyone("getStats", .get("/v1/stats")),
            Row(
                "listCenterSlots", "sc-city on a coming weekday",
                "200  200  200  200  200  200  200  200"
            ) { fx, _ in .get("/v1/service-centers/sc-city/slots?day=\(fx.day)") },
            Row(
                "bookAppointment", "a free place at sc-city",
                "401  201  201  201  403  403  403  403"
            ) { fx, _ in .post("/v1/appointments", ["slotId": "sc-city|\(fx.day)|14:30"]) },
            Row(
                "bookAppointment", "a place at sc-city for A's case",
                "401  201  404  404  403  403  403  403"
            ) { fx, _ in
                .post("/v1/appointments", ["slotId": "sc-city|\(fx.day)|15:30", "caseId": fx.submittedCase])
            },
            Row(
                "listMyAppointments", "the caller's appointments",
                "401  200  200  200  403  403  403  403"
            ) { _, _ in .get("/v1/appointments") },
            Row(
                "cancelAppointment", "A's appointment",
                "401  200  404  404  403  403  403  403"
            ) { fx, _ in .delete("/v1/appointments/\(fx.appointment)") },
            Row(
                "takeQueueTicket", "sc-city today, where A waits already",
                "401  409:already_queued  201  201  403  403  403  403"
            ) { _, _ in .post("/v1/queue-tickets", ["centerId": "sc-city"]) },
            Row(
                "getQueueTicket", "A's ticket",
                "401  200  404  404  404  404  404  404"
            ) { fx, _ in .get("/v1/queue-tickets/\(fx.ticket)") },
            Row(
                "cancelQueueTicket", "A's ticket",
                "401  200  404  404  404  404  404  404"
            ) { fx, _ in .delete("/v1/queue-tickets/\(fx.ticket)") },
            .everyone("listMatters", .get("/v1/matters?\(query(["q": "不动产"]))")),
            .everyone("getMatter", .get("/v1/matters/330100-RE-0004")),
            .everyone("listBundles", .get("/v1/bundles")),
            .everyone("listDepartments", .get("/v1/departments")),
            .everyone("listServiceCenters", .get("/v1/service-centers")),
            .everyone("listFeeItems", .get("/v1/fee-items")),
            .everyone("searchFAQ", .get("/v1/faq?\(query(["q": "公积金"]))")),
            // The wallet: A holds a 普通护照 issued by hz-exit-entry, whose clerks are not callers here (admins may change it).
            Row(
                "listLicenses", "the caller's wallet",
                "401  200  200  200  403  403  403  403"
            ) { _, _ in .get("/v1/wallet/licenses") },
            Row(
                "getLicense", "A's license",
                "401  200  404  404  403  403  403  403"
            ) { fx, _ in .get("/v1/wallet/licenses/\(fx.license)") },
            Row(
                "getWalletAccessLog", "the caller's access log",
                "401  200  200  200  403  403  403  403"
            ) { _, _ in .get("/v1/wallet/access-log") },
            Row(
                "createCredentialOffer", "A's license, offered to a standards wallet",
                "401  201  404  404  403  403  403  403"
            ) { fx, _ in .post("/v1/wallet/licenses/\(fx.license)/offer") },
            .everyone("getCredentialIssuerMetadata", .get("/.well-known/openid-credential-issuer")),
            .everyone("getAuthorizationServerMetadata", .get("/.well-known/oauth-authorization-server")),
            Row(
                "requestCredentialToken", "a pre-authorized code nobody was offered (OAuth error, whoever asks)",
                String(repeating: "400!invalid_grant ", count: 8)
            ) { _, _ in
                Probe(
                    method: .post, path: "/v1/oid4vci/token",
                    file: Data("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=nope".utf8),
                    headers: ["Content-Type": "application/x-www-form-urlencoded"])
            },
            Row("requestCredentialNonce", "-", "200 200 200 200 200 200 200 200") { _, _ in .post("/v1/oid4vci/nonce") },
            Row(
                "requestCredential", "with the caller's OneTrip token, which is no credential access token",
                String(repeating: "401!invalid_token ", count: 8)
            ) { _, _ in .post("/v1/oid4vci/credential", ["proofs": ["jwt": ["x.y.z"]]]) },
            .everyone("getIssuerKeys", .get("/v1/issuers/hz-exit-entry/jwks")),
            .everyone("getStatusList", .get("/v1/status-lists/hz-exit-entry.000001")),
            Row(
                "setLicenseStatus", "A's license, suspended (clerks of other departments cannot)",
                "401  403  403  403  404  404  200  403"
            ) { fx, _ in .post("/v1/workbench/licenses/\(fx.license)/status", ["status": "suspended"]) },
            Row(
                "createPresentationNonce", "a nonce for the caller as verifier",
                "401  201  201  201  201  201  201  201"
            ) { _, _ in .post("/v1/presentations/nonces") },
            Row(
                "verifyPresentation", "something that is not a presentation",
                "401  422:presentation_malformed  422:presentation_malformed  422:presentation_malformed  422:presentation_malformed  422:presentation_malformed  422:presentation_malformed  422:presentation_malformed"
            ) { _, _ in .post("/v1/presentations/verify", ["presentation": "not~a~presentation"]) },
            // Payments: A's orders are A's; a payment code shows its order (not its payer) to anyone holding it; anyone
            // may pay an order; clerks of the order's department (hz-exit-entry: no caller here) and admins refund.
            Row(
                "createPaymentOrder", "a passport-fee order of the caller's own",
                "401  201  201  201  403  403  403  403"
            ) { _, _ in .post("/v1/payment-orders", ["feeItemCode": "FEE-PASSPORT"], headers: ["Idempotency-Key": UUID().uuidString]) },
            Row(
                "listPaymentOrders", "the caller's orders",
                "401  200  200  200  200  200  200  200"
            ) { _, _ in .get("/v1/payment-orders") },
            Row(
                "getPaymentOrder", "A's paid order",
                "401  200  404  404  404  404  200  404", mayShowA: [a, .admin]
            ) { fx, _ in .get("/v1/payment-orders/\(fx.paidOrder)") },
            Row(
                "findPaymentOrderByCode", "A's order by its payment code (its payer hidden)",
                "401  200  200  200  200  200  200  200", mayShowA: Set(Caller.allCases)
            ) { fx, _ in .get("/v1/payment-codes/\(fx.paymentCode)") },
            Row(
                "payPaymentOrder", "A's unpaid order (anyone may pay it; staff and kiosks do not pay)",
                "401  200  200  200  403  403  403  403", mayShowA: [a, .citizenB, .enterprise]
            ) { fx, _ in .post("/v1/payment-orders/\(fx.unpaidOrder)/pay", ["channel": "alipay"]) },
            Row(
                "closePaymentOrder", "A's unpaid order, cancelled by its payer",
                "401  200  404  404  404  404  404  404"
            ) { fx, _ in .post("/v1/payment-orders/\(fx.unpaidOrder)/close") },
            Row(
                "refundPaymentOrder", "1 fen of A's paid order",
                "401  403  403  403  404  404  201  403", mayShowA: [a, .admin]
            ) { fx, _ in
                .post(
                    "/v1/payment-orders/\(fx.paidOrder)/refunds", ["amountFen": 1, "reason": "矩阵测试"], headers: ["Idempotency-Key": UUID().uuidString])
            },
            Row(
                "receivePaymentNotification", "a notification nobody signed (channels do not authenticate; signatures do)",
                String(repeating: "400:notification_rejected ", count: 8)
            ) { _, _ in
                Probe(
                    method: .post, path: "/v1/payments/notify/alipay", file: Data("notify_id=1&sign=AAAA&out_trade_no=T1".utf8),
                    headers: ["Content-Type": "application/x-www-form-urlencoded"])
            },
            Row(
                "getPaymentReconciliation", "today's reconciliation",
                "401  403  403  403  403  403  200  403"
            ) { _, _ in .get("/v1/payments/reconciliation?date=\(WorkingCalendar.day(fromMillis: Int64(Clock.nowMillis())))") },
            Row(
                "confirmSandboxTrade", "a trade no one started",
                "401  404  404  404  403  403  403  403"
            ) { _, _ in .post("/sandbox/alipay/trades/TNOSUCHTRADE/confirm", [:]) },
            Row(
                "getSandboxBill", "today's Alipay bill",
                "401  403  403  403  403  403  200  403"
            ) { _, _ in .get("/sandbox/alipay/bill?date=\(WorkingCalendar.day(fromMillis: Int64(Clock.nowMillis())))") },
            Row(
                "runSandboxDeliveries", "-",
                "401  200  200  200  200  200  200  200"
            ) { _, _ in .post("/sandbox/deliveries") },
        ]
    }

    /// A valid resident ID number no demo account has, one per caller.
    static func newIDNumber(_ caller: Caller) -> String {
        let first17 = "330106" + "19900101" + String(200 + caller.rawValue)
        return first17 + String(ResidentIDNumber.checkCharacter(for: first17.map { Int(String($0))! }))
    }
}
