import HTTPTypes
import Hummingbird

/// Sends `ETag` and `Cache-Control` as written. The generated server serializes every declared response header as
/// a URI component, so `max-age=300` would leave as `max-age%3D300` and an ETag's quotes as `%22`, which caches
/// ignore (swift-openapi-generator issue 857, open). Handlers set them through the generated types; this restores
/// the bytes on the way out.
struct RawHeaderMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let names: [HTTPField.Name] = [.eTag, .cacheControl]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for name in Self.names {
            if let value = response.headers[name], value.contains("%"), let decoded = value.removingPercentEncoding {
                response.headers[name] = decoded
            }
        }
        return response
    }
}
