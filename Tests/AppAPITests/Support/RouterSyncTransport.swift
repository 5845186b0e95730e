import Foundation
import HummingbirdTesting
import OneTripAPI
import SyncCore
import Synchronization
import Testing

@testable import AppAPI

/// SyncCore's transport over the in-process router, so the real replica and engine run against the real server.
/// `online` can be switched off to simulate a phone without network.
final class RouterSyncTransport: Sendable {
    let client: any TestClientProtocol
    let token: String
    private let state = Mutex(true)

    init(client: any TestClientProtocol, token: String) {
        self.client = client
        self.token = token
    }

    var online: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }

    var transport: SyncTransport {
        SyncTransport(
            pull: { [self] request in
                guard online else { throw SyncTransportError.offline }
                let response = try await client.pull(
                    token, clientID: request.clientID, cursors: Dictionary(uniqueKeysWithValues: request.cursors.map { ($0.key.rawValue, $0.value) }),
                    epochs: request.epochs.isEmpty ? nil : Dictionary(uniqueKeysWithValues: request.epochs.map { ($0.key.rawValue, $0.value) }),
                    limit: request.limit)
                guard response.status == .ok else { throw Self.refusal(response) }
                return try Self.page(from: response.json(PullResponse.self))
            },
            push: { [self] clientID, mutations in
                guard online else { throw SyncTransportError.offline }
                let bodies = try mutations.map { mutation -> [String: Any] in
                    [
                        "id": mutation.id, "name": mutation.name, "args": try JSONSerialization.jsonObject(with: Data(mutation.args)),
                        "hlc": mutation.hlc.description,
                    ]
                }
                let response = try await client.push(token, clientID: clientID, mutations: bodies)
                guard response.status == .ok else { throw Self.refusal(response) }
                let outcome = try response.json(PushResponse.self)
                return PushOutcome(
                    results: outcome.results.map { result in
                        MutationResult(
                            id: result.id, status: .init(rawValue: result.status.rawValue)!, code: result.code, detail: result.detail,
                            errors: (result.errors ?? []).map { FieldProblem(pointer: $0.pointer, detail: $0.detail) },
                            alternatives: result.alternatives ?? [])
                    },
                    lastMutationID: outcome.lastMutationId)
            }
        )
    }

    /// A 409 problem is a refusal the engine acts on (`client_cloned`); any other failure is permanent.
    static func refusal(_ response: TestResponse) -> SyncTransportError {
        if response.status == .conflict, let problem = try? response.json(Components.Schemas.Problem.self) {
            return .refused(code: problem.code, detail: problem.detail ?? problem.title)
        }
        return .permanent(response.text)
    }

    static func page(from response: PullResponse) throws -> PullPage {
        PullPage(
            changes: try response.changes.map { change in
                Change(
                    scope: Scope(change.scope)!, seq: change.seq, type: EntityType(rawValue: change._type.rawValue), id: change.id,
                    op: change.op == .upsert ? .upsert : .delete, version: change.version,
                    data: try change.data.map { Array(try JSONEncoder().encode($0)) })
            },
            cursors: Dictionary(uniqueKeysWithValues: response.cursors.additionalProperties.map { (Scope($0.key)!, $0.value) }),
            hasMore: response.hasMore,
            reset: response.reset.compactMap(Scope.init),
            resetEpochs: Dictionary(uniqueKeysWithValues: (response.resetEpochs?.additionalProperties ?? [:]).map { (Scope($0.key)!, $0.value) }),
            lastMutationID: response.lastMutationId, serverHLC: HLC(response.serverHlc) ?? .zero)
    }
}
