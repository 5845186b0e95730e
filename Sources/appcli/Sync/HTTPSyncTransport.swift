import Foundation
import OpenAPIRuntime
import SyncCore

/// SyncCore's transport over the generated client: pull and push as `openapi.yaml` describes them, with failures
/// classified so the engine retries what may pass next time (timeouts, 429, 5xx) and stops on the rest. A 401 (after
/// the bearer middleware's refresh failed) is thrown as the server's problem, so the command exits 3.
extension SyncTransport {
    static func http(_ connection: APIConnection) -> SyncTransport {
        SyncTransport(
            pull: { clientID, cursors, limit in
                let body = Components.Schemas.PullRequest(
                    clientId: clientID, cursors: .init(additionalProperties: Dictionary(uniqueKeysWithValues: cursors.map { ($0.key.rawValue, $0.value) })),
                    limit: limit
                )
                let output = try await classify { try await connection.client.syncPull(body: .json(body)) }
                switch output {
                case .ok(let ok): return try PullPage(try ok.body.json)
                case .badRequest(let p): throw SyncTransportError.permanent(try p.body.applicationProblemJson.describe())
                case .unauthorized(let p): throw CLIError.problem(try p.body.applicationProblemJson)
                case .forbidden(let p): throw SyncTransportError.permanent(try p.body.applicationProblemJson.describe())
                case .undocumented(let status, _): throw SyncTransportError.status(status)
                }
            },
            push: { clientID, mutations in
                let body = Components.Schemas.PushRequest(
                    clientId: clientID,
                    mutations: try mutations.map { mutation in
                        Components.Schemas.PushMutation(
                            id: mutation.id, name: mutation.name, args: try JSONDecoder().decode(OpenAPIObjectContainer.self, from: Data(mutation.args)),
                            hlc: mutation.hlc.description)
                    }
                )
                let output = try await classify { try await connection.client.syncPush(body: .json(body)) }
                switch output {
                case .ok(let ok):
                    let response = try ok.body.json
                    return PushOutcome(
                        results: response.results.map { MutationResult(id: $0.id, status: .init(rawValue: $0.status.rawValue)!, code: $0.code, detail: $0.detail) },
                        lastMutationID: response.lastMutationId)
                case .badRequest(let p): throw SyncTransportError.permanent(try p.body.applicationProblemJson.describe())
                case .unauthorized(let p): throw CLIError.problem(try p.body.applicationProblemJson)
                case .forbidden(let p): throw SyncTransportError.permanent(try p.body.applicationProblemJson.describe())
                case .undocumented(let status, _): throw SyncTransportError.status(status)
                }
            }
        )
    }

    /// Network failures are `offline` (the engine stops quietly and the outbox waits); a response the client cannot
    /// read is permanent.
    private static func classify<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch let error as ClientError {
            // A session that cannot be refreshed is not a network problem: the user has to log in again.
            if let failure = error.underlyingError as? CLIError { throw failure }
            if error.underlyingError is DecodingError {
                throw SyncTransportError.permanent("unreadable response: \(error.underlyingError)")
            }
            throw SyncTransportError.offline
        }
    }
}

extension SyncTransportError {
    /// 429 and 5xx may pass on retry; other statuses will not.
    static func status(_ status: Int) -> SyncTransportError {
        status == 429 || status >= 500 ? .transient("HTTP \(status)") : .permanent("HTTP \(status)")
    }
}

extension Components.Schemas.Problem {
    func describe() -> String { "\(title)" + (detail.map { " — \($0)" } ?? "") + " [\(code)]" }
}

extension PullPage {
    init(_ response: Components.Schemas.PullResponse) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.init(
            changes: try response.changes.map { change in
                guard let scope = Scope(change.scope), let type = SyncSchema.oneTrip.syncedEntity(EntityType(rawValue: change._type.rawValue))?.type else {
                    throw SyncTransportError.permanent("the server sent an unknown scope or entity type")
                }
                return Change(
                    scope: scope, seq: change.seq, type: type, id: change.id, op: change.op == .upsert ? .upsert : .delete, version: change.version,
                    data: try change.data.map { Array(try encoder.encode($0)) })
            },
            cursors: Dictionary(uniqueKeysWithValues: (response.cursors.additionalProperties).compactMap { key, value in Scope(key).map { ($0, value) } }),
            hasMore: response.hasMore, reset: response.reset.compactMap(Scope.init), lastMutationID: response.lastMutationId,
            serverHLC: HLC(response.serverHlc) ?? .zero)
    }
}
