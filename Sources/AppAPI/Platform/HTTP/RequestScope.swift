import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context: Hummingbird's core storage plus what our middleware learns about the request.
struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    var requestID: String
    var remoteAddress: SocketAddress?
    /// The connection, so a refused body can be left unread (`BodyLimitMiddleware` shuts its input).
    var channel: (any Channel)?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}

/// What a generated OpenAPI handler may know about the HTTP request it serves. Set by
/// `RequestScopeMiddleware` as a task local, because generated handlers only receive typed input.
struct RequestScope: Sendable {
    var requestID: String
    var path: String
    var logger: Logger
    /// The bearer token, if any; verified only by handlers that need an identity.
    var bearerToken: String?
    /// The client's IP address: the socket peer, or what a trusted proxy forwarded (`TrustedProxies`).
    var clientAddress: String?
    /// The network limits count the client under: its IPv4 address or its IPv6 /64.
    var clientNetwork: String?
    /// The request's `Content-Type` (routes that take any body, such as payment notifications, decode by it).
    var contentType: String?

    @TaskLocal static var current: RequestScope?
}

/// Gives each request an id (a sane incoming `X-Request-Id` is kept so ids follow a call across services),
/// puts it in the logger metadata and the response headers, and exposes it to handlers with the client's address.
/// Every response also says `X-Content-Type-Options: nosniff`, so no browser runs a body as another type.
struct RequestScopeMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    var trustedProxies: TrustedProxies = .none

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let incoming = request.headers[.requestID].flatMap { Self.isAcceptable($0) ? $0 : nil }
        let requestID = incoming ?? Self.makeID()
        context.requestID = requestID
        context.logger[metadataKey: "request.id"] = .string(requestID)
        let peer = context.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
        let client = trustedProxies.clientAddress(peer: peer, forwardedFor: request.headers[values: .xForwardedFor])
        let scope = RequestScope(
            requestID: requestID, path: request.uri.path, logger: context.logger, bearerToken: Self.bearerToken(request.headers[.authorization]),
            clientAddress: client?.description, clientNetwork: client?.throttlingNetwork, contentType: request.headers[.contentType]
        )
        var response = try await RequestScope.$current.withValue(scope) {
            try await next(request, context)
        }
        response.headers[.requestID] = requestID
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }

    static func isAcceptable(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }

    static func bearerToken(_ header: String?) -> String? {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    static func makeID() -> String {
        UUID().uuidString.lowercased()
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}
