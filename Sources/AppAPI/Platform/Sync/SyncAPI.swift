import Foundation
import OneTripAPI
import OpenAPIRuntime
import ServiceLifecycle
import SyncCore

/// The sync routes: pull, push and server-sent pokes.
extension APIImplementation {
    func syncPull(_ input: Operations.SyncPull.Input) async throws -> Operations.SyncPull.Output {
        let me = try await authenticate()
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        try SyncRequestRules.validateClientID(body.clientId)
        var cursors: [Scope: Int] = [:]
        for (name, seq) in body.cursors?.additionalProperties ?? [:] {
            guard let scope = Scope(name) else {
                throw AppError.badRequest(
                    "'\(name.prefix(64))' is not a scope.", code: .invalidScope, errors: [.init(pointer: "/cursors", detail: "unknown scope")])
            }
            guard seq >= 0 else {
                throw AppError.badRequest("Cursors are never negative.", errors: [.init(pointer: "/cursors/\(name)", detail: "must be ≥ 0")])
            }
            cursors[scope] = seq
        }
        var epochs: [Scope: String] = [:]
        for (name, epoch) in body.epochs?.additionalProperties ?? [:] {
            guard let scope = Scope(name), (1...64).contains(epoch.utf8.count), epoch.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw AppError.badRequest(
                    "Epochs are the strings resetEpochs gave, per scope.", errors: [.init(pointer: "/epochs", detail: "invalid")])
            }
            epochs[scope] = epoch
        }
        let limit = body.limit ?? SyncService.defaultLimit
        guard (1...SyncService.maxLimit).contains(limit) else {
            throw AppError.badRequest("limit must be 1...\(SyncService.maxLimit).", errors: [.init(pointer: "/limit", detail: "out of range")])
        }
        let page = try await sync.pull(PullRequest(clientID: body.clientId, cursors: cursors, epochs: epochs, limit: limit), identity: me)
        return .ok(.init(body: .json(try .init(page))))
    }

    func syncPush(_ input: Operations.SyncPush.Input) async throws -> Operations.SyncPush.Output {
        let me = try await authenticate()
        guard case .json(let body) = input.body else { throw AppError.badRequest("Expected a JSON body.") }
        try SyncRequestRules.validateClientID(body.clientId)
        guard body.mutations.count <= SyncService.maxMutationsPerPush else {
            throw AppError.badRequest(
                "At most \(SyncService.maxMutationsPerPush) mutations per push.", errors: [.init(pointer: "/mutations", detail: "too many")])
        }
        let mutations = try body.mutations.enumerated().map { index, mutation in
            guard mutation.id >= 1 else {
                throw AppError.badRequest("Mutation ids start at 1.", errors: [.init(pointer: "/mutations/\(index)/id", detail: "must be ≥ 1")])
            }
            guard mutation.hlc.utf8.count <= 128, let hlc = HLC(mutation.hlc) else {
                throw AppError.badRequest(
                    "Mutation \(mutation.id) has a malformed hlc.", errors: [.init(pointer: "/mutations/\(index)/hlc", detail: "not an HLC")])
            }
            guard (1...64).contains(mutation.name.utf8.count) else {
                throw AppError.badRequest(
                    "Mutator names have 1 to 64 characters.", errors: [.init(pointer: "/mutations/\(index)/name", detail: "invalid")])
            }
            return PendingMutation(id: mutation.id, name: mutation.name, args: Array(try SyncJSON.encoder.encode(mutation.args)), hlc: hlc)
        }
        let outcome = try await sync.push(clientID: body.clientId, mutations: mutations, identity: me, logger: RequestScope.current?.logger)
        return .ok(
            .init(body: .json(.init(results: outcome.results.map(Components.Schemas.MutationResult.init), lastMutationId: outcome.lastMutationID))))
    }

    func syncEvents(_ input: Operations.SyncEvents.Input) async throws -> Operations.SyncEvents.Output {
        let me = try await authenticate()
        var scopes = Set(SyncAuthorization.readableScopes(me))
        if let requested = input.query.scopes {
            var chosen = Set<Scope>()
            for name in requested.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                guard let scope = Scope(name), scopes.contains(scope) else {
                    throw AppError(.scopeForbidden, "This account may not watch the scope '\(name.prefix(64))'.")
                }
                chosen.insert(scope)
            }
            scopes = chosen
        }
        // Subscribe before reading the heads: a commit in between is then in the heads or in a poke, never in neither.
        guard let pokes = notifier.subscribe(to: scopes, accountID: me.accountID) else {
            throw AppError(.tooManyRequests, "This account has \(ChangeNotifier.maxStreamsPerAccount) event streams open already; close one first.")
        }
        let initial = try await database.read { [scopes] db in try await SyncService.heads(of: Array(scopes), on: db) }
        let authenticator = authenticator
        let stream = ServerSentEvents.stream(
            pokes: pokes, initial: scopes.sorted().map { ($0, initial[$0]?.seq ?? 0) }, heartbeat: ServerSentEvents.heartbeatInterval,
            until: me.expiresAt, stillValid: { try await authenticator.isActive(deviceID: me.deviceID) }
        )
        return .ok(.init(body: .textEventStream(HTTPBody(stream, length: .unknown, iterationBehavior: .single))))
    }
}

/// Checks on sync request fields.
enum SyncRequestRules {
    /// 8–64 of `A-Z a-z 0-9 _ -`, checked byte by byte (no pattern, so no end-of-line surprises).
    static func validateClientID(_ id: String) throws {
        let bytes = id.utf8
        guard (8...64).contains(bytes.count),
            bytes.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 95 || $0 == 45 })
        else {
            throw AppError.badRequest(
                "clientId must be 8–64 characters of A-Z, a-z, 0-9, '_' or '-'.", code: .invalidClientID,
                errors: [.init(pointer: "/clientId", detail: "invalid")])
        }
    }
}

extension Components.Schemas.PullResponse {
    init(_ page: PullPage) throws {
        self.init(
            changes: try page.changes.map { change in
                Components.Schemas.SyncChange(
                    scope: change.scope.rawValue, seq: change.seq, _type: change.type, id: change.id,
                    op: change.op == .upsert ? .upsert : .delete, version: change.version,
                    data: try change.data.map { try SyncJSON.decoder.decode(OpenAPIObjectContainer.self, from: Data($0)) }
                )
            },
            cursors: .init(additionalProperties: Dictionary(uniqueKeysWithValues: page.cursors.map { ($0.key.rawValue, $0.value) })),
            hasMore: page.hasMore, reset: page.reset.map(\.rawValue),
            resetEpochs: page.resetEpochs.isEmpty
                ? nil : .init(additionalProperties: Dictionary(uniqueKeysWithValues: page.resetEpochs.map { ($0.key.rawValue, $0.value) })),
            lastMutationId: page.lastMutationID, serverHlc: page.serverHLC.description
        )
    }
}

extension Components.Schemas.MutationResult {
    init(_ result: MutationResult) {
        self.init(
            id: result.id, status: .init(rawValue: result.status.rawValue)!, code: result.code, detail: result.detail,
            errors: result.errors.isEmpty ? nil : result.errors.map { .init(pointer: $0.pointer, detail: $0.detail) },
            alternatives: result.alternatives.isEmpty ? nil : result.alternatives)
    }
}

/// The text/event-stream encoding of scope pokes.
enum ServerSentEvents {
    static let heartbeatInterval: Duration = .seconds(15)
    /// How often an open stream re-checks that its device is still live.
    static let revocationCheckInterval: Duration = .seconds(5)

    /// The stream ends on graceful shutdown (so an open stream never holds up a SIGTERM; the client reconnects to
    /// another instance or polls), at `until` (the token's expiry), and when `stillValid` says no (checked every
    /// `revocationCheckInterval`).
    static func stream(
        pokes: AsyncStream<ChangeNotifier.ScopeHead>, initial: [(Scope, Int)], heartbeat: Duration, until: Date = .distantFuture,
        stillValid: @escaping @Sendable () async throws -> Bool = { true }
    ) -> AsyncStream<ArraySlice<UInt8>> {
        AsyncStream { continuation in
            for (scope, seq) in initial { continuation.yield(event(scope: scope, seq: seq)) }
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
            let guardian = Task {
                while !Task.isCancelled {
                    let left = until.timeIntervalSinceNow
                    if left <= 0 { break }
                    try? await Task.sleep(for: min(revocationCheckInterval, .milliseconds(Int64(left * 1000))))
                    if Task.isCancelled { return }
                    if until.timeIntervalSinceNow <= 0 { break }
                    // A failed check (the database briefly away) keeps the stream; a definite "revoked" ends it.
                    if (try? await stillValid()) == false { break }
                }
                if !Task.isCancelled { continuation.finish() }
            }
            continuation.onTermination = { _ in
                relay.cancel()
                beat.cancel()
                guardian.cancel()
            }
        }
    }

    static func event(scope: Scope, seq: Int) -> ArraySlice<UInt8> {
        ArraySlice("event: poke\ndata: {\"scope\":\"\(scope.rawValue)\",\"seq\":\(seq)}\n\n".utf8)
    }
}
