import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AppAPI

/// What every HTTP response promises, whatever the client sends: real statuses and codes, nosniff, problem details in
/// the contract's terms, bodies bounded before the caller is known.
@Suite struct HTTPEdgeTests {
    /// Accept headers real clients send: none (OkHttp, Retrofit and Alamofire add none by default), URLSession's, the
    /// usual JSON ones, a browser's, axios's.
    static let acceptHeaders: [String?] = [
        nil, "*/*", "application/json", "application/json;q=0.9", "application/problem+json", "application/json; charset=utf-8",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json, text/plain, */*",
    ]

    @Test("S8: every error keeps its real status and problem code whatever Accept says", arguments: TestEngine.enabled)
    func errorsIgnoreAccept(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let token = try await client.loginCitizen().accessToken
            let day = AppointmentDays.futureWeekday
            let requests: [(HTTPRequest.Method, String, String?, HTTPResponse.Status, String)] = [
                (.get, "/v1/matters/NO-SUCH", nil, .notFound, "not_found"),
                (.get, "/v1/matters?limit=0", nil, .badRequest, "invalid_parameter"),
                (.get, "/v1/faq?limit=0", nil, .badRequest, "invalid_parameter"),
                (.get, "/v1/cases/case_nope", token, .notFound, "not_found"),
                (.get, "/v1/blobs/" + String(repeating: "ab", count: 32), token, .notFound, "not_found"),
                (.get, "/v1/queue-tickets/nope", token, .notFound, "not_found"),
                (.delete, "/v1/me/devices/dev_nope", token, .notFound, "not_found"),
                (.get, "/v1/service-centers/nope/slots?day=\(day)", nil, .notFound, "not_found"),
            ]
            for (method, uri, token, status, code) in requests {
                for accept in Self.acceptHeaders {
                    var headers: HTTPFields = [:]
                    if let accept { headers[.accept] = accept }
                    if let token { headers[.authorization] = "Bearer \(token)" }
                    let response = try await client.execute(uri: uri, method: method, headers: headers)
                    #expect(response.status == status, "\(method) \(uri) with Accept \(accept ?? "none"): \(response.status) \(response.text)")
                    #expect(response.headers[.contentType]?.hasPrefix("application/problem+json") == true)
                    #expect(try response.json(ProblemDocument.self).code == code, "\(method) \(uri) with Accept \(accept ?? "none")")
                }
            }
        }
    }

    @Test("S35: downloads carry nosniff and Content-Disposition attachment, and every response says nosniff", arguments: TestEngine.enabled)
    func responsesAreNeverSniffed(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let token = try await client.loginCitizen().accessToken
            var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            png.append(Data("<html><script>alert(1)</script></html>".utf8))
            let upload = try await client.execute(
                uri: "/v1/blobs", method: .post, headers: [.contentType: "image/png", .authorization: "Bearer \(token)"], body: ByteBuffer(data: png))
            #expect(upload.status == .created, "\(upload.text)")
            let sha = try #require((try JSONSerialization.jsonObject(with: Data(buffer: upload.body)) as? [String: Any])?["sha256"] as? String)
            let download = try await client.get("/v1/blobs/\(sha)", token: token)
            #expect(download.status == .ok)
            #expect(download.headers[.xContentTypeOptions] == "nosniff")
            #expect(download.headers[.contentDisposition]?.hasPrefix("attachment") == true)
            for response in [
                try await client.get("/healthz"), try await client.get("/v1/nothing"), try await client.get("/v1/matters?limit=1"), upload,
            ] {
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
            }
        }
    }

    @Test("S36: problem details never show Swift type names or DecodingError text", arguments: TestEngine.enabled)
    func problemDetailsSpeakTheContract(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let device: [String: Any] = ["name": "d", "platform": "cli"]
            let bodies: [(String, Any)] = [
                ("/v1/auth/login", ["idNumber": 5, "password": "x", "device": device]),
                ("/v1/auth/login", ["idNumber": "1", "password": "x", "device": ["name": "d", "platform": "toaster"]]),
                ("/v1/auth/login", ["idNumber": "1", "password": ["x"], "device": device]),
                ("/v1/auth/login", ["idNumber": "1", "device": device]),
                ("/v1/auth/login", ["idNumber": "1", "password": "x", "device": "phone"]),
                ("/v1/auth/register", ["kind": "robot", "name": "x", "phone": "1", "password": "x"]),
                ("/v1/auth/refresh", ["refreshToken": NSNull()]),
            ]
            var responses: [TestResponse] = []
            for (uri, body) in bodies { responses.append(try await client.post(uri, json: body)) }
            responses.append(
                try await client.execute(
                    uri: "/v1/auth/login", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{not json")))
            for query in ["limit=abc", "visits=x", "idCardOnly=maybe", "domain=farming", "limit=99999999999999999999"] {
                responses.append(try await client.get("/v1/matters?\(query)"))
            }
            let leaks = [
                "Swift.", "DecodingError", "CodingKeys", "Components.", "Operations.", "of type", "Int", "Optional", "Array<", "Dictionary<",
                "Payload",
            ]
            for response in responses {
                #expect((400..<500).contains(response.status.code), "\(response.text)")
                let detail = try response.problem().detail ?? ""
                #expect(!leaks.contains { detail.contains($0) }, "detail leaks internals: \(detail)")
            }
        }
    }

    @Test("S16: without a valid token a large body is refused before it is read; public routes take only small ones", arguments: TestEngine.enabled)
    func anonymousBodiesAreSmall(engine: TestEngine) async throws {
        try await withTestApp(engine) { client in
            let big = ByteBuffer(repeating: 0x89, count: BodyLimitMiddleware.anonymousLimit + 1)
            let anonymous = try await client.execute(uri: "/v1/blobs", method: .post, headers: [.contentType: "image/png"], body: big)
            #expect(anonymous.status == .unauthorized)
            #expect(try anonymous.problem().code == "unauthenticated")
            let forged = try await client.execute(
                uri: "/v1/blobs", method: .post, headers: [.contentType: "image/png", .authorization: "Bearer x.y.z"], body: big)
            #expect(try forged.problem().code == "invalid_token")
            let login = try await client.execute(uri: "/v1/auth/login", method: .post, headers: [.contentType: "application/json"], body: big)
            #expect(login.status == .contentTooLarge)
            // With a token the route's own limit applies.
            let token = try await client.loginCitizen().accessToken
            var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            png.append(Data(repeating: 7, count: BodyLimitMiddleware.anonymousLimit * 2))
            let upload = try await client.execute(
                uri: "/v1/blobs", method: .post, headers: [.contentType: "image/png", .authorization: "Bearer \(token)"], body: ByteBuffer(data: png))
            #expect(upload.status == .created, "\(upload.text)")
        }
    }

    @Test("S16: anonymous bodies share a bounded budget")
    func anonymousBudgetIsBounded() {
        let budget = ByteBudget(bytes: 100)
        #expect(budget.reserve(60))
        #expect(!budget.reserve(41))
        #expect(budget.reserve(40))
        budget.release(60)
        #expect(budget.reserve(60))
    }
}
