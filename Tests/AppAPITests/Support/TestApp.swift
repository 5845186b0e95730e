import Foundation
import Hummingbird
import HummingbirdTesting
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

/// Builds the application over `config`, runs `body` against its router, and closes the database whatever happens
/// (a failing expectation must not leave connections open).
func withApp(_ config: AppConfig, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
    try await withApp(config) { client, _ in try await body(client) }
}

/// Like `withApp`, also handing `body` the application's own database (writes through it are seen by the app's
/// caches and pokes, as any write of the server is).
func withApp(_ config: AppConfig, _ body: @escaping @Sendable (any TestClientProtocol, any Database) async throws -> Void) async throws {
    let database = try await openDatabase(config.database, logger: testLogger)
    do {
        try await prepareDatabase(database, config: config, logger: testLogger)
        let app = try buildApplication(config, database: database, logger: testLogger)
        try await app.test(.router) { client in try await body(client, database) }
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
