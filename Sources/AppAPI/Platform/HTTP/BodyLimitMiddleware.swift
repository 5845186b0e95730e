import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Reads request bodies before routing, within bounds a stranger cannot stretch:
/// - over its route's limit → 413, before a byte is read (a declared `Content-Length`) or while counting (chunked);
/// - without a valid bearer token, a body may be at most `anonymousLimit` (64 KiB: every public route takes small
///   JSON) and all such bodies together at most `anonymousBudget` bytes at once; a larger one is answered 401 (413 on
///   the public routes) before it is read, a request over the budget 503 `server_busy`;
/// - a body must arrive within `timeout` plus a second per 64 KiB declared, else 400 `request_timeout`.
/// A refused or timed-out body is never read on: the connection's input is shut, so the answer goes out and the
/// connection closes instead of draining what a trickling client still sends.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    /// 1 MiB: ample for every JSON body of the API; material uploads have their own, larger limit.
    static let defaultLimit = 1 << 20
    /// The largest body read before the caller has proved who it is.
    static let anonymousLimit = 64 << 10
    /// Bytes of anonymous bodies buffered at once, over all connections (128 full ones).
    static let defaultAnonymousBudget = 8 << 20
    /// The routes that take a body without a token.
    static let publicBodyRoutes: Set<String> = ["/v1/auth/register", "/v1/auth/login", "/v1/auth/refresh"]

    let defaultLimit: Int
    /// Larger limits for routes that take files.
    let routeLimits: [String: Int]
    /// Proves bearer tokens before a large body is read; `nil` treats every caller as anonymous.
    let authenticator: (any Authenticator)?
    let timeout: Duration
    let anonymousBudget: ByteBudget

    init(
        limit: Int = Self.defaultLimit, routeLimits: [String: Int] = ["/v1/blobs": BlobStore.maxBytes], authenticator: (any Authenticator)? = nil,
        timeout: Duration = .seconds(30), anonymousBudget: Int = Self.defaultAnonymousBudget
    ) {
        self.defaultLimit = limit
        self.routeLimits = routeLimits
        self.authenticator = authenticator
        self.timeout = timeout
        self.anonymousBudget = ByteBudget(bytes: anonymousBudget)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        guard (declared ?? 0) > 0 || request.headers[.transferEncoding] != nil else { return try await next(request, context) }
        let path = request.uri.path
        let limit = routeLimits[path] ?? defaultLimit
        if let declared, declared > limit { throw refusing(AppError.payloadTooLarge(limit: limit), context) }
        let token = RequestScopeMiddleware.bearerToken(request.headers[.authorization])
        var anonymous = true
        if declared.map({ $0 > Self.anonymousLimit }) ?? true, let token, let authenticator {
            anonymous = (try? await authenticator.verify(token)) == nil
        }
        if anonymous, let declared, declared > Self.anonymousLimit { throw refusing(anonymousRefusal(path: path, token: token), context) }
        let reserved = anonymous ? declared ?? Self.anonymousLimit : 0
        guard anonymousBudget.reserve(reserved) else {
            var error = AppError(.serverBusy, "Too many requests are being received at once. Try again shortly.")
            error.headers[.retryAfter] = "1"
            throw refusing(error, context)
        }
        defer { anonymousBudget.release(reserved) }
        var request = request
        try await collect(&request, upTo: anonymous ? Self.anonymousLimit : limit, declared: declared, context: context) {
            anonymous && limit > Self.anonymousLimit
                ? anonymousRefusal(path: path, token: token) : .payloadTooLarge(limit: anonymous ? Self.anonymousLimit : limit)
        }
        return try await next(request, context)
    }

    /// Collects the body, or throws `request_timeout` when it has not arrived by the deadline.
    private func collect(
        _ request: inout Request, upTo limit: Int, declared: Int?, context: Context, tooLarge: () -> AppError
    ) async throws {
        let deadline = timeout + .seconds((declared ?? limit) / (64 << 10))
        let timedOut = Atomic<Bool>(false)
        let channel = context.channel
        let timer = Task {
            try await Task.sleep(for: deadline)
            timedOut.store(true, ordering: .sequentiallyConsistent)
            // Ends the body stream where it stands; the collector below then returns or throws.
            channel?.close(mode: .input, promise: nil)
        }
        defer { timer.cancel() }
        do {
            _ = try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw refusing(tooLarge(), context)
        } catch  where timedOut.load(ordering: .sequentiallyConsistent) {
            throw timeoutError()
        }
        if timedOut.load(ordering: .sequentiallyConsistent) { throw timeoutError() }
    }

    private func timeoutError() -> AppError {
        var error = AppError(.requestTimeout, "The request body did not arrive in time.")
        error.headers[.connection] = "close"
        return error
    }

    private func anonymousRefusal(path: String, token: String?) -> AppError {
        if Self.publicBodyRoutes.contains(path) { return .payloadTooLarge(limit: Self.anonymousLimit) }
        return token == nil
            ? .unauthenticated("This route needs an access token (Authorization: Bearer …).")
            : .unauthenticated("The access token is not valid.", code: .invalidToken)
    }

    /// `error`, after shutting the connection's input so the unread body is never drained.
    private func refusing(_ error: AppError, _ context: Context) -> AppError {
        context.channel?.close(mode: .input, promise: nil)
        var error = error
        error.headers[.connection] = "close"
        return error
    }
}

/// Bytes a group of requests may hold at once.
final class ByteBudget: Sendable {
    private let capacity: Int
    private let used = Atomic<Int>(0)

    init(bytes: Int) { capacity = bytes }

    /// Takes `bytes` if they fit; `false` when they do not (nothing taken).
    func reserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        let total = used.add(bytes, ordering: .acquiringAndReleasing).newValue
        guard total <= capacity else {
            used.subtract(bytes, ordering: .acquiringAndReleasing)
            return false
        }
        return true
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.subtract(bytes, ordering: .acquiringAndReleasing)
    }
}
