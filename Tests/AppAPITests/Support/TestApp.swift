import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import AppAPI

/// Builds the real application over a fresh database of `engine` (seeded like a first start) and runs `body`
/// against its router.
/// The test app and its own database handle.
func withTestAppDatabase(_ engine: TestEngine, _ body: @escaping @Sendable (any TestClientProtocol, any Database) async throws -> Void) async throws {
    try await withFreshDatabase(engine) { location in
        try await withApp(testConfig(location)) { client, database in try await body(client, database) }
    }
}

func withTestApp(_ engine: TestEngine, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
    try await withFreshDatabase(engine) { location in
        try await withApp(testConfig(location)) { client in try await body(client) }
    }
}

/// A test app whose clock is `runtime`'s (limits, grace periods and expiry then move when the test says).
func withTestApp(_ engine: TestEngine, runtime: Runtime, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
    try await withFreshDatabase(engine) { location in
        var config = testConfig(location)
        config.runtime = runtime
        try await withApp(config) { client in try await body(client) }
    }
}

/// A test app over `configure`d test configuration; `live` serves it on a real socket (client addresses, headers as
/// sent), else requests go straight to the router.
func withTestApp(
    _ engine: TestEngine, live: Bool = false, configure: @Sendable (inout AppConfig) -> Void,
    _ body: @escaping @Sendable (any TestClientProtocol, any Database) async throws -> Void
) async throws {
    try await withFreshDatabase(engine) { location in
        var config = testConfig(location)
        configure(&config)
        try await withApp(config, live: live) { client, database in try await body(client, database) }
    }
}

/// Builds the application over `config`, runs `body` against its router, and closes the database whatever happens
/// (a failing expectation must not leave connections open).
func withApp(_ config: AppConfig, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
    try await withApp(config) { client, _ in try await body(client) }
}

/// Like `withApp`, also handing `body` the application's own database (writes through it are seen by the app's
/// caches and pokes, as any write of the server is).
func withApp(
    _ config: AppConfig, live: Bool = false, logger: Logger = testLogger,
    _ body: @escaping @Sendable (any TestClientProtocol, any Database) async throws -> Void
) async throws {
    let database = try await openDatabase(config.database, logger: logger)
    do {
        try await prepareDatabase(database, config: config, logger: logger)
        let app = try buildApplication(config, database: database, logger: logger)
        try await app.test(live ? .live : .router) { client in try await body(client, database) }
    } catch {
        await database.shutdown()
        throw error
    }
    await database.shutdown()
}

extension TestResponse {
    /// The body decoded as JSON of type `T`.
    func json<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(T.self, from: Data(buffer: body))
    }

    /// The body as text.
    var text: String { String(buffer: body) }

    /// The body as a problem document, after checking the content type.
    func problem() throws -> ProblemDocument {
        #expect(headers[.contentType]?.hasPrefix("application/problem+json") == true)
        return try json(ProblemDocument.self)
    }
}

/// A URL query component, percent-encoded (Chinese keywords included).
func query(_ items: [String: String]) -> String {
    var components = URLComponents()
    components.queryItems = items.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
    return components.percentEncodedQuery ?? ""
}
