import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Standards wallets read OAuth errors (`{error, error_description}`), not problem+json: on the OpenID4VCI routes a
/// request the server could not even decode (a missing form field, a body that is not JSON) becomes
/// `400 invalid_request` in OAuth's shape. Every other failure goes on to the problem middleware (413 stays a
/// problem). Sits inside `ProblemMiddleware`, so it sees the error before it is rendered.
struct OAuthErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let prefix = "/v1/oid4vci/"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix(Self.prefix) else { return try await next(request, context) }
        do {
            return try await next(request, context)
        } catch {
            let problem = ProblemMiddleware.appError(for: error, request: request, logger: context.logger)
            guard problem.status == .badRequest else { throw error }
            let json = try JSONSerialization.data(
                withJSONObject: ["error": "invalid_request", "error_description": problem.detail ?? "the request is malformed"],
                options: [.sortedKeys])
            return Response(
                status: .badRequest, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
    }
}
