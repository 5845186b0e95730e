import AsyncHTTPClient
import Foundation
import HTTPTypes
import OneTripAPI
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime

/// Adds `Authorization: Bearer …` to every call that needs it, refreshing the token first when it is about to
/// expire, and once more (then retrying the call) when the server answers 401 `invalid_token`.
final class BearerMiddleware: ClientMiddleware, Sendable {
    /// Routes that take no token: sending one would only leak it to logs.
    static let anonymous: Set<String> = [
        "register", "login", "refresh", "getHealth", "getReadiness", "getMetrics", "getOpenAPIDocument", "getAccessTokenKeys", "listMatters",
        "getMatter", "listBundles", "listDepartments", "listServiceCenters", "listFeeItems", "searchFAQ", "getStats",
    ]

    let store: TokenStore

    init(store: TokenStore) { self.store = store }

    /// The access token in use; setting one by hand (load tests) gives a session without refresh.
    var current: String? {
        get { store.tokens?.access }
        set { store.tokens = newValue.map { TokenStore.Tokens(access: $0, refresh: nil, expiresAt: nil) } }
    }

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        guard !Self.anonymous.contains(operationID), let token = try await store.accessToken() else {
            return try await next(request, body, baseURL)
        }
        var request = request
        request.headerFields[.authorization] = "Bearer \(token)"
        let (response, responseBody) = try await next(request, body, baseURL)
        guard response.status == .unauthorized, store.canRefresh else { return (response, responseBody) }
        // Only an expired or unknown access token is worth a refresh; read the problem's code to tell.
        let data = try await Data(collecting: responseBody ?? HTTPBody(), upTo: 64 * 1024)
        struct Coded: Decodable { var code: String? }
        guard (try? JSONDecoder().decode(Coded.self, from: data))?.code == "invalid_token" else { return (response, HTTPBody(data)) }
        request.headerFields[.authorization] = "Bearer \(try await store.refresh(replacing: token))"
        return try await next(request, body, baseURL)
    }
}

/// A generated client plus the HTTP client under it and its session tokens.
struct APIConnection: Sendable {
    let client: Client
    let http: HTTPClient
    let bearer: BearerMiddleware
    let serverURL: URL

    /// The session's tokens (refreshed in place).
    var tokens: TokenStore { bearer.store }

    /// A connection to `serverURL` whose tokens live in `tokens` (a fresh, empty store by default).
    init(serverURL: URL, http: HTTPClient = APIConnection.makeHTTPClient(), tokens: TokenStore = TokenStore()) {
        self.http = http
        self.serverURL = serverURL
        self.bearer = BearerMiddleware(store: tokens)
        let transport = AsyncHTTPClientTransport(configuration: .init(client: http, timeout: .seconds(60)))
        let configuration = Configuration(jsonEncodingOptions: [.sortedKeys])
        self.client = Client(serverURL: serverURL, configuration: configuration, transport: transport, middlewares: [bearer])
        // Refreshing goes through a client without the bearer middleware, so it can never recurse into itself.
        let bare = Client(serverURL: serverURL, configuration: configuration, transport: transport)
        tokens.setExchange { refreshToken in try await APIConnection.exchange(refreshToken, on: bare) }
    }

    /// Stores the tokens a login or refresh answered.
    func adopt(_ response: Components.Schemas.TokenResponse) {
        tokens.tokens = TokenStore.Tokens(response)
    }

    func shutdown() async { try? await http.shutdown() }

    /// An HTTP client for one command: a refused or silent server is reported within seconds (AsyncHTTPClient keeps
    /// retrying a connection until its connect timeout, 10 s by default).
    static func makeHTTPClient() -> HTTPClient {
        HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(3))))
    }

    /// `POST /v1/auth/refresh`. A refresh token that is unknown, expired or reused ends the session for good.
    private static func exchange(_ refreshToken: String, on client: Client) async throws -> TokenStore.Tokens {
        let output = try await client.refresh(body: .json(.init(refreshToken: refreshToken)))
        switch output {
        case .ok(let ok):
            return TokenStore.Tokens(try ok.body.json)
        case .unauthorized(let problem):
            let detail = try problem.body.applicationProblemJson
            throw CLIError.notLoggedIn("the session of this profile ended (\(detail.code)): log in again with `appcli login`")
        default:
            throw CLIError.from(output)
        }
    }
}

extension TokenStore.Tokens {
    /// The tokens of a login or refresh answer, with the expiry as an instant.
    init(_ response: Components.Schemas.TokenResponse) {
        self.init(access: response.accessToken, refresh: response.refreshToken, expiresAt: Date().timeIntervalSince1970 + Double(response.expiresIn))
    }
}
