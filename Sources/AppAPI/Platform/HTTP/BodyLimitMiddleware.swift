import Hummingbird

/// Refuses request bodies above a limit with 413 before any handler sees them: a declared `Content-Length`
/// is checked up front, a streamed body is counted while it is collected.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    /// 1 MiB: ample for every JSON body of the API; material uploads will get their own, larger limit.
    static let defaultLimit = 1 << 20

    let defaultLimit: Int
    /// Larger limits for routes that take files.
    let routeLimits: [String: Int]

    init(limit: Int = Self.defaultLimit, routeLimits: [String: Int] = ["/v1/blobs": BlobStore.maxBytes]) {
        self.defaultLimit = limit
        self.routeLimits = routeLimits
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let limit = routeLimits[request.uri.path] ?? defaultLimit
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw AppError.payloadTooLarge(limit: limit)
        }
        var request = request
        do {
            _ = try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw AppError.payloadTooLarge(limit: limit)
        }
        return try await next(request, context)
    }
}
