import AsyncHTTPClient
import Foundation
import HTTPTypes
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime
import Synchronization

/// Adds `Authorization: Bearer …` to every request when a token is set.
final class BearerMiddleware: ClientMiddleware, Sendable {
    private let token = Mutex<String?>(nil)

    var current: String? {
        get { token.withLock { $0 } }
        set { token.withLock { $0 = newValue } }
    }

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        if let token = current { request.headerFields[.authorization] = "Bearer \(token)" }
        return try await next(request, body, baseURL)
    }
}

/// A generated client plus the HTTP client under it and its bearer token.
struct APIConnection: Sendable {
    let client: Client
    let http: HTTPClient
    let bearer: BearerMiddleware

    init(serverURL: URL, http: HTTPClient = HTTPClient(eventLoopGroupProvider: .singleton)) {
        self.http = http
        self.bearer = BearerMiddleware()
        self.client = Client(
            serverURL: serverURL, configuration: .init(jsonEncodingOptions: [.sortedKeys]),
            transport: AsyncHTTPClientTransport(configuration: .init(client: http, timeout: .seconds(60))), middlewares: [bearer]
        )
    }

    func shutdown() async { try? await http.shutdown() }
}
