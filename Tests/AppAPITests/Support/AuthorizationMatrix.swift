import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OneTripAPI
import SyncCore
import Testing

@testable import AppAPI

/// The machinery of `AuthorizationMatrixTests`: callers, expected answers, requests, fixtures and the check of one cell.
/// The table itself is `AuthorizationMatrix.rows`, beside the tests.
enum AuthorizationMatrix {
    /// Who calls. Citizen A owns every fixture; clerk.realestate handles A's cases; clerk.police is a clerk of another
    /// department.
    enum Caller: Int, CaseIterable, CustomStringConvertible {
        case anonymous, citizenA, citizenB, enterprise, otherClerk, clerk, admin, kiosk

        var description: String {
            let names = [
                "anonymous", "citizen A", "citizen B", "enterprise", "clerk.police (another department)", "clerk.realestate (handling)", "admin",
                "kiosk",
            ]
            return names[rawValue]
        }

        /// The owner goes last in each row, so every other caller meets the fixture as it was set up.
        static let executionOrder: [Caller] = [.anonymous, .citizenB, .enterprise, .otherClerk, .clerk, .admin, .kiosk, .citizenA]
    }

    /// What a caller must get.
    enum Answer: Equatable, CustomStringConvertible {
        /// A success status.
        case status(Int)
        /// An error status with its problem code.
        case problem(Int, String)
        /// `POST /v1/sync/push` answered 200 with this verdict for the mutation: `applied` or a rejection code.
        case verdict(String)
        /// An OAuth error (`{error}`, the OpenID4VCI routes) with this status.
        case oauth(Int, String)

        /// One cell of the table: `200`, `201`, `202`, `204`; `401`, `403`, `404` (codes `unauthenticated`, `forbidden`,
        /// `not_found`); `STATUS:code` for another problem code; `push:verdict` for a push; `STATUS!error` for an OAuth error.
        init(_ cell: Substring) {
            if cell.hasPrefix("push:") {
                self = .verdict(String(cell.dropFirst("push:".count)))
                return
            }
            if let bang = cell.firstIndex(of: "!") {
                self = .oauth(Int(cell[..<bang])!, String(cell[cell.index(after: bang)...]))
                return
            }
            let parts = cell.split(separator: ":", maxSplits: 1)
            let status = Int(parts[0])!
            let standard = [401: "unauthenticated", 403: "forbidden", 404: "not_found"]
            if status >= 400 {
                self = .problem(status, parts.count == 2 ? String(parts[1]) : standard[status]!)
            } else {
                self = .status(status)
            }
        }

        var description: String {
            switch self {
            case .status(let status): "\(status)"
            case .problem(let status, let code): "\(status) \(code)"
            case .verdict(let code): "200 with verdict \(code)"
            case .oauth(let status, let error): "\(status) OAuth error \(error)"
            }
        }
    }

    /// One request.
    struct Probe {
        var method: HTTPRequest.Method
        var path: String
        var json: [String: Any]? = nil
        var file: Data? = nil
        var headers: [String: String] = [:]

        static func get(_ path: String) -> Probe { Probe(method: .get, path: path) }
        static func delete(_ path: String) -> Probe { Probe(method: .delete, path: path) }
        static func post(_ path: String, _ json: [String: Any]? = nil, headers: [String: String] = [:]) -> Probe {
            Probe(method: .post, path: path, json: json, headers: headers)
        }
    }

    /// Which session of the caller a row uses.
    enum Session {
        /// The caller's one session for the whole matrix.
        case main
        /// A session logged in for this request alone (a logout ends it; an event stream is ended by logging it out).
        case fresh
    }

    /// One operation aimed at one target, with every caller's answer.
    struct Row {
        var operation: String
        var target: String
        /// In `Caller` order.
        var answers: [Answer]
        var session: Session
        /// The answer is an event stream, ended by logging its session out.
        var streams: Bool
        /// Callers whose successful answers may contain citizen A's ids; for everyone else they must not.
        var mayShowA: Set<Caller>
        var request: (Fixtures, Caller) -> Probe

        /// `answers`: one cell per caller, in `Caller` order, separated by spaces (see `Answer.init`).
        init(
            _ operation: String, _ target: String, _ answers: String, session: Session = .main, streams: Bool = false,
            mayShowA: Set<Caller> = [.citizenA], _ request: @escaping (Fixtures, Caller) -> Probe
        ) {
            self.operation = operation
            self.target = target
            self.answers = answers.split(separator: " ").map(Answer.init)
            precondition(self.answers.count == Caller.allCases.count, "\(operation) (\(target)): one answer per caller")
            self.session = session
            self.streams = streams
            self.mayShowA = mayShowA
            self.request = request
        }

        /// A public route: every caller gets 200, a token or not.
        static func everyone(_ operation: String, _ probe: Probe) -> Row {
            Row(operation, "-", "200 200 200 200 200 200 200 200") { _, _ in probe }
        }
    }

    /// The callers' sessions and citizen A's things, made through the API the way people would.
    struct Fixtures {
        var tokens: [Caller: String]
        var accountA: String
        /// A's other device (the matrix revokes it).
        var device: String
        var citedBlob: String
        var uncitedBlob: String
        /// 二手房买卖不动产转移登记 cases, handled by clerk.realestate: submitted (citing `citedBlob`), a draft, one to
        /// withdraw, one in 补正, a completed one, one to accept.
        var submittedCase: String
        var draft: String
        var caseToWithdraw: String
        var caseInCorrection: String
        var completedCase: String
        var caseToAccept: String
        var appointment: String
        /// A's waiting ticket at sc-city today.
        var ticket: String
        /// A coming weekday with free slots.
        var day: String
        /// A's 普通护照, issued when clerk.exitentry (no caller of the matrix) approved A's case.
        var license: String
        /// A's paid passport-fee order (hz-exit-entry), its payment code, and an unpaid one A closes.
        var paidOrder: String
        var paymentCode: String
        var unpaidOrder: String

        /// A's ids, which no caller but those a row entitles may see.
        var secretsOfA: [String] {
            [
                accountA, device, citedBlob, uncitedBlob, submittedCase, draft, caseToWithdraw, caseInCorrection, completedCase, caseToAccept,
                appointment, ticket, license, paidOrder, unpaidOrder,
            ]
        }

        static func make(_ client: any TestClientProtocol) async throws -> Fixtures {
            let a = try await client.loginCitizen()
            var tokens: [Caller: String] = [:]
            for caller in Caller.allCases where caller != .anonymous {
                tokens[caller] = caller == .citizenA ? a.accessToken : try await session(caller, client)
            }
            let clerk = try #require(tokens[.clerk])
            let device = try await client.loginCitizen(device: "A 的旧手机").deviceId
            let cited = try await client.upload(a.accessToken, Data("%PDF-1.4 A 的身份证".utf8))
            let uncited = try await client.upload(a.accessToken, Data("%PDF-1.4 A 的草稿".utf8))
            func realEstateCase(submit: Bool = true, citing blob: String? = nil) async throws -> String {
                var materials = transferMaterials
                if let blob { materials[0] = ["name": "买卖双方居民身份证", "blobSha256": blob] }
                let body: [String: Any] = ["matterCode": "330100-RE-0004", "materials": materials, "submit": submit]
                let created = try await client.createCase(a.accessToken, body: body)
                #expect(created.status == .created, "fixture case: \(created.text)")
                return try #require(try created.json(Components.Schemas.CaseList.self).items.first?.id)
            }
            let submitted = try await realEstateCase(citing: cited)
            let draft = try await realEstateCase(submit: false)
            let toWithdraw = try await realEstateCase()
            let inCorrection = try await realEstateCase()
            #expect(try await client.act(clerk, inCorrection, "requestCorrection", ["correctionItems": ["结婚证"]]).status == .ok)
            let completed = try await realEstateCase()
            let moves: [(String, [String: Any])] = [
                ("accept", [:]), ("startReview", [:]), ("approve", [:]), ("deliver", ["deliveryMethod": "window"]), ("complete", [:]),
            ]
            for (action, extra) in moves {
                let moved = try await client.act(clerk, completed, action, extra)
                #expect(moved.status == .ok, "fixture \(action): \(moved.text)")
            }
            let toAccept = try await realEstateCase()
            let day = AppointmentDays.futureWeekday
            let booked = try await client.book(a.accessToken, "sc-city|\(day)|09:30")
            #expect(booked.status == .created, "fixture appointment: \(booked.text)")
            let taken = try await client.post("/v1/queue-tickets", json: ["centerId": "sc-city"], token: a.accessToken)
            #expect(taken.status == .created, "fixture ticket: \(taken.text)")
            let exitEntry = try await client.loginStaff((username: "clerk.exitentry", password: "Clerk2026exitentry")).accessToken
            let idCard = try await client.createCase(a.accessToken, body: ["matterCode": "330100-PSN-0011"])
            let idCardCase = try #require(try idCard.json(Components.Schemas.CaseList.self).items.first?.id)
            for action in ["accept", "startReview", "approve"] {
                let moved = try await client.act(exitEntry, idCardCase, action)
                #expect(moved.status == .ok, "fixture license \(action): \(moved.text)")
            }
            let wallet = try await client.get("/v1/wallet/licenses", token: a.accessToken).json(LicenseList.self)
            let license = try #require(wallet.items.first { $0.caseId == idCardCase }?.id)
            let paid = try await client.paidPassportOrder(a.accessToken)
            let unpaid = try await client.passportOrder(a.accessToken)
            return Fixtures(
                tokens: tokens, accountA: a.account.id, device: device, citedBlob: cited, uncitedBlob: uncited, submittedCase: submitted,
                draft: draft, caseToWithdraw: toWithdraw, caseInCorrection: inCorrection, completedCase: completed, caseToAccept: toAccept,
                appointment: try booked.json(Components.Schemas.Appointment.self).id, ticket: try taken.json(Components.Schemas.QueueTicket.self).id,
                day: day, license: license, paidOrder: paid.id, paymentCode: paid.paymentCode, unpaidOrder: unpaid.id)
        }
    }

    /// Sends `row`'s request as `caller` and compares the answer with the table.
    static func check(_ row: Row, _ caller: Caller, _ fixtures: Fixtures, _ client: any TestClientProtocol) async throws {
        let expected = row.answers[caller.rawValue]
        let probe = row.request(fixtures, caller)
        let label = "\(row.operation) (\(row.target)) as \(caller)"
        var token = fixtures.tokens[caller]
        if row.session == .fresh, caller != .anonymous { token = try await session(caller, client) }
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        for (name, value) in probe.headers { headers[HTTPField.Name(name)!] = value }
        var body: ByteBuffer?
        if let json = probe.json {
            headers[.contentType] = headers[.contentType] ?? "application/json"
            body = try jsonBody(json)
        } else if let file = probe.file {
            body = ByteBuffer(data: file)
        }
        let response: TestResponse
        if row.streams, let token, expected == .status(200) {
            // An event stream lasts as long as its session: log that session out to end it (within 5 s).
            let (path, method) = (probe.path, probe.method)
            async let streamed = client.execute(uri: path, method: method, headers: headers, body: body)
            try await Task.sleep(for: .milliseconds(200))
            let logout = try await client.post("/v1/auth/logout", json: [String: Any](), token: token)
            #expect(logout.status == .noContent, "\(label): logging the stream's session out")
            response = try await streamed
        } else {
            response = try await client.execute(uri: probe.path, method: probe.method, headers: headers, body: body)
        }
        let actual = try answer(of: response, expecting: expected)
        #expect(actual == expected, "\(label): expected \(expected), got \(actual) — \(response.text.prefix(300))")
        // Nothing of A's reaches a caller the row does not entitle, except what the caller sent itself.
        if (200..<300).contains(Int(response.status.code)), !row.mayShowA.contains(caller) {
            let sent = probe.path + (probe.json.flatMap { try? String(decoding: JSONSerialization.data(withJSONObject: $0), as: UTF8.self) } ?? "")
            let leaked = fixtures.secretsOfA.filter { !sent.contains($0) && response.text.contains($0) }
            #expect(leaked.isEmpty, "\(label): the answer shows citizen A's \(leaked)")
        }
    }

    /// The answer in the table's terms.
    static func answer(of response: TestResponse, expecting expected: Answer) throws -> Answer {
        let status = Int(response.status.code)
        if case .verdict = expected, status == 200 {
            let result = try #require(try response.json(PushResponse.self).results.first)
            return .verdict(result.status == .applied ? "applied" : result.code ?? result.status.rawValue)
        }
        if case .oauth = expected, status >= 400 {
            let error = (try? response.json([String: String].self))?["error"] ?? "(no OAuth error body)"
            return .oauth(status, error)
        }
        if status >= 400 { return .problem(status, (try? response.json(ProblemDocument.self).code) ?? "(no problem body)") }
        return .status(status)
    }

    /// Logs `caller`'s demo account in on a device of its own and returns the access token.
    static func session(_ caller: Caller, _ client: any TestClientProtocol) async throws -> String {
        switch caller {
        case .anonymous: preconditionFailure("anonymous callers have no session")
        case .citizenA: try await client.loginCitizen(device: "矩阵会话").accessToken
        case .citizenB: try await client.loginCitizen(Demo.citizen2, device: "矩阵会话").accessToken
        case .enterprise:
            try await client.login(["creditCode": Demo.enterprise.creditCode], password: Demo.enterprise.password)
                .json(TokenResponse.self).accessToken
        case .otherClerk: try await client.loginStaff(CasesHostileTests.police).accessToken
        case .clerk: try await client.loginStaff(Clerks.realEstate).accessToken
        case .admin: try await client.loginStaff(Demo.admin).accessToken
        case .kiosk: try await client.loginStaff(Demo.kiosk).accessToken
        }
    }
}
