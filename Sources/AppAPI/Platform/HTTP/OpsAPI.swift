import Foundation
import OneTripAPI
import OpenAPIRuntime

/// Health, readiness, metrics and the contract. `/metrics` and `/readyz` answer anyone who reaches the server:
/// deploy them on a private network or behind the load balancer's allow list (see README, "Security").
extension APIImplementation {
    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        .ok(.init(body: .json(.init(status: .ok))))
    }

    func getReadiness(_ input: Operations.GetReadiness.Input) async throws -> Operations.GetReadiness.Output {
        let version: Int?
        do {
            version = try await Migrator.currentVersion(database)
        } catch {
            RequestScope.current?.logger.warning("readiness check failed", metadata: ["error": "\(String(reflecting: error))"])
            throw AppError(.databaseUnreachable, "The database is not reachable.")
        }
        guard let version, version >= Migrator.latestVersion(of: migrations) else {
            throw AppError(.migrationsPending, "Migrations are not complete.")
        }
        let engine: Components.Schemas.Readiness.DatabasePayload = database.engine == .sqlite ? .sqlite : .postgres
        return .ok(.init(body: .json(.init(status: .ready, database: engine, schemaVersion: version))))
    }

    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        .ok(.init(body: .plainText(HTTPBody(AppMetrics.exposition()))))
    }

    func getOpenAPIDocument(_ input: Operations.GetOpenAPIDocument.Input) async throws -> Operations.GetOpenAPIDocument.Output {
        .ok(.init(body: .yaml(HTTPBody(openAPIDocument))))
    }
}
