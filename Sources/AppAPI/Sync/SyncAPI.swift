import Foundation
import OpenAPIRuntime
import ServiceLifecycle
import SyncCore

/// The sync routes: pull, push and server-sent pokes.
extension APIImplementation {
    func syncPull(_ input: Operations.SyncPull.Input) async throws -> Operations.SyncPull.Output {
        let me = try await authenticate()
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        try Self.validateClientID(body.clientId)
        var cursors: [Scope: Int]?
        if let raw = body.cursors?.additionalProperties {
            var parsed: [Scope: Int] = [:]
            for (name, seq) in raw {
                guard let scope = Scope(name) else {
                    throw AppError.badRequest("'\(name)' is not a scope.", code: "invalid_scope", errors: [.init(pointer: "/cursors/\(name)", detail: "unknown scope")])
                }
                guard seq >= 0 else { throw AppError.badRequest("Cursors are never negative.", errors: [.init(pointer: "/cursors/\(name)", detail: "must be ≥ 0")]) }
                parsed[scope] = seq
            }
            cursors = parsed
        }
        let limit = body.limit ?? SyncService.defaultLimit
        guard (1...SyncService.maxLimit).contains(limit) else {
            throw AppError.badRequest("limit must be 1...\(SyncService.maxLimit).", errors: [.init(pointer: "/limit", detail: "out of range")])
        }
        let page = try await sync.pull(.init(clientID: body.clientId, cursors: cursors, limit: limit), identity: me)
        return .ok(.init(body: .json(try .init(page))))
    }

    func syncPush(_ input: Operations.SyncPush.Input) async throws -> Operations.SyncPush.Output {
        let me = try await authenticate()
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        try Self.validateClientID(body.clientId)
        guard body.mutations.count <= 500 else { throw AppError.badRequest("At most 500 mutations per push.") }
        let mutations = try body.mutations.enumerated().map { index, mutation in
            guard let hlc = HLC(mutation.hlc) else {
                throw AppError.badRequest("Mutation \(mutation.id) has a malformed hlc.", errors: [.init(pointer: "/mutations/\(index)/hlc", detail: "not an HLC")])
            }
            return PendingMutation(id: mutation.id, name: mutation.name, args: Array(try SyncJSON.encoder.encode(mutation.args)), hlc: hlc)
        }
        let outcome = try await sync.push(clientID: body.clientId, mutations: mutations, identity: me)
        return .ok(
            .init(
                body: .json(
                    .init(
                        results: outcome.results.map { .init(id: $0.id, status: .init(rawValue: $0.status.rawValue)!, code: $0.code, detail: $0.detail) },
                        lastMutationId: outcome.lastMutationID
                    )
                )
            )
        )
    }

    func syncEvents(_ input: Operations.SyncEvents.Input) async throws -> Operations.SyncEvents.Output {
        let me = try await authenticate()
        var scopes = Set(SyncAuthorization.readableScopes(me))
        if let requested = input.query.scopes {
            var chosen = Set<Scope>()
            for name in requested.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard let scope = Scope(name), scopes.contains(scope) else {
                    throw AppError(status: .forbidden, code: "scope_forbidden", title: "Forbidden", detail: "This account may not watch the scope '\(name)'.")
                }
                chosen.insert(scope)
            }
            scopes = chosen
        }
        let initial = try await database.read { [scopes] db in try await SyncService.heads(of: Array(scopes), on: db) }
        let stream = ServerSentEvents.stream(
            pokes: database.notifier.subscribe(to: scopes), initial: scopes.sorted().map { ($0, initial[$0]?.seq ?? 0) },
            heartbeat: ServerSentEvents.heartbeatInterval
        )
        return .ok(.init(body: .textEventStream(HTTPBody(stream, length: .unknown, iterationBehavior: .single))))
    }

    static func validateClientID(_ id: String) throws {
        guard id.range(of: #"^[A-Za-z0-9_-]{8,64}$"#, options: .regularExpression) != nil else {
            throw AppError.badRequest("clientId must be 8–64 characters of A-Z, a-z, 0-9, '_' or '-'.", code: "invalid_client_id",
                errors: [.init(pointer: "/clientId", detail: "invalid")])
        }
    }
}

extension Components.Schemas.PullResponse {
    init(_ page: PullPage) throws {
        self.init(
            changes: try page.changes.map { change in
                Components.Schemas.SyncChange(
                    scope: change.scope.rawValue, seq: change.seq, _type: .init(rawValue: change.type.rawValue)!, id: change.id,
                    op: change.op == .upsert ? .upsert : .delete, version: change.version,
                    data: try change.data.map { try SyncJSON.decoder.decode(OpenAPIObjectContainer.self, from: Data($0)) }
                )
            },
            cursors: .init(additionalProperties: Dictionary(uniqueKeysWithValues: page.cursors.map { ($0.key.rawValue, $0.value) })),
            hasMore: page.hasMore, reset: page.reset.map(\.rawValue), lastMutationId: page.lastMutationID, serverHlc: page.serverHLC.description
        )
    }
}

/// The text/event-stream encoding of scope pokes.
enum ServerSentEvents {
    static let heartbeatInterval: Duration = .seconds(15)

    static func stream(
        pokes: AsyncStream<ChangeNotifier.ScopeHead>, initial: [(Scope, Int)], heartbeat: Duration
    ) -> AsyncStream<ArraySlice<UInt8>> {
        AsyncStream { continuation in
            for (scope, seq) in initial { continuation.yield(event(scope: scope, seq: seq)) }
            // The stream ends when the server shuts down gracefully, so an open event stream never holds up a
            // SIGTERM (the client reconnects to another instance or polls).
            let relay = Task {
                await withGracefulShutdownHandler {
                    for await head in pokes { continuation.yield(event(scope: head.scope, seq: head.seq)) }
                } onGracefulShutdown: {
                    continuation.finish()
                }
                continuation.finish()
            }
            let beat = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: heartbeat)
                    if Task.isCancelled { break }
                    continuation.yield(ArraySlice(": heartbeat\n\n".utf8))
                }
            }
            continuation.onTermination = { _ in
                relay.cancel()
                beat.cancel()
            }
        }
    }

    static func event(scope: Scope, seq: Int) -> ArraySlice<UInt8> {
        ArraySlice("event: poke\ndata: {\"scope\":\"\(scope.rawValue)\",\"seq\":\(seq)}\n\n".utf8)
    }
}
