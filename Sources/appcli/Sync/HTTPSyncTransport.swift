import Foundation
import OneTripAPI
import OpenAPIRuntime
import SyncCore

/// SyncCore's transport over the generated client: pull and push as `openapi.yaml` describes them, with failures
/// classified so the engine retries what may pass next time (timeouts, 429, 5xx) and stops on the rest. A 401 (after
/// the bearer middleware's refresh failed) is thrown as the server's problem, so the command exits 3. A 409 problem
/// (`client_cloned`: this profile's replica was copied) is a typed refusal the engine reacts to; 403 `client_mismatch`
/// stays permanent.
extension SyncTransport {
    static func http(_ connection: APIConnection) -> SyncTransport {
        SyncTransport(
            pull: { request in
                let body = Components.Schemas.PullRequest(
                    clientId: request.clientID,
                    cursors: .init(additionalProperties: Dictionary(uniqueKeysWithValues: request.cursors.map { ($0.key.rawValue, $0.value) })),
                    epochs: request.epochs.isEmpty
                        ? nil : .init(additionalProperties: Dictionary(uniqueKeysWithValues: request.epochs.map { ($0.key.rawValue, $0.value) })),
                    limit: request.limit
                )
                let output = try await classify { try await connection.client.syncPull(body: .json(body)) }
                switch output {
                case .ok(let ok): return try PullPage(try ok.body.json)
                case .badRequest(let p): throw SyncTransportError.permanent(try p.body.applicationProblemJson.describe())
                case .unauthorized(let p): throw CLIError.problem(try p.body.applicationProblemJson)
                case .forbidden(let p): throw SyncTransportError.permanent(try p.body.applicationProblemJson.describe())
                case .conflict(let p): throw SyncTransportError.refused(try p.body.applicationProblemJson)
                case .undocumented(let status, let payload): throw await SyncTransportError.status(status, payload)
                }
            },
            push: { clientID, mutations in
                let body = Components.Schemas.PushRequest(
                    clientId: clientID,
                    mutations: try mutations.map { mutation in
                        Components.Schemas.PushMutation(
                            id: mutation.id, name: mutation.name,
                            args: try JSONDecoder().decode(OpenAPIObjectContainer.self, from: Data(mutation.args)),
                            hlc: mutation.hlc.description)
                    }
                )
                let output = try await classify { try await connection.client.syncPush(body: .json(body)) }
                switch output {
                case .ok(let ok):
                    let response = try ok.body.json
                    return PushOutcome(results: response.results.map(MutationResult.init), lastMutationID: response.lastMutationId)
                case .badRequest(let p): throw SyncTransportError.permanent(try p.body.applicationProblemJson.describe())
                case .unauthorized(let p): throw CLIError.problem(try p.body.applicationProblemJson)
                case .forbidden(let p): throw SyncTransportError.permanent(try p.body.applicationProblemJson.describe())
                case .conflict(let p): throw SyncTransportError.refused(try p.body.applicationProblemJson)
                case .undocumented(let status, let payload): throw await SyncTransportError.status(status, payload)
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

    /// A status the contract does not list for sync, classified by status alone (a 409 problem from an older server is
    /// still read as a refusal).
    static func status(_ status: Int, _ payload: UndocumentedPayload) async -> SyncTransportError {
        guard status == 409, let body = payload.body,
            let bytes = try? await Data(collecting: body, upTo: 64 * 1024),
            let problem = try? JSONDecoder().decode(Components.Schemas.Problem.self, from: bytes)
        else { return Self.status(status) }
        return .refused(problem)
    }

    /// A 409 problem as a refusal with its code (the engine takes a new client id on `client_cloned`).
    static func refused(_ problem: Components.Schemas.Problem) -> SyncTransportError {
        .refused(code: problem.code, detail: problem.describe())
    }
}

extension MutationResult {
    /// The server's answer for one pushed mutation, with the fields at fault and the alternatives of a rejection.
    init(_ result: Components.Schemas.MutationResult) {
        self.init(
            id: result.id, status: Status(rawValue: result.status.rawValue) ?? .rejected, code: result.code, detail: result.detail,
            errors: (result.errors ?? []).map { FieldProblem(pointer: $0.pointer, detail: $0.detail) }, alternatives: result.alternatives ?? [])
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
                guard let scope = Scope(change.scope), let type = SyncSchema.oneTrip.syncedEntity(change._type)?.type else {
                    throw SyncTransportError.permanent("the server sent an unknown scope or entity type")
                }
                return Change(
                    scope: scope, seq: change.seq, type: type, id: change.id,
                    op: change.op == .upsert ? .upsert : .delete, version: change.version, data: try change.data.map { Array(try encoder.encode($0)) }
                )
            },
            cursors: Dictionary(
                uniqueKeysWithValues: (response.cursors.additionalProperties).compactMap { key, value in Scope(key).map { ($0, value) } }),
            hasMore: response.hasMore, reset: response.reset.compactMap(Scope.init),
            resetEpochs: Dictionary(
                uniqueKeysWithValues: (response.resetEpochs?.additionalProperties ?? [:]).compactMap { key, value in
                    Scope(key).map { ($0, value) }
                }),
            lastMutationID: response.lastMutationId, serverHLC: HLC(response.serverHlc) ?? .zero)
    }
}
