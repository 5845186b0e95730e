import Foundation
import Logging
import OneTripAPI

/// The one implementation of the generated `APIProtocol`: a plain struct of the dependencies `buildApplication`
/// builds. The platform and each capability add their handlers in extensions (`Platform/Sync/SyncAPI.swift`,
/// `Capabilities/Cases/CasesAPI.swift`, …).
struct APIImplementation: APIProtocol {
    // Platform
    let database: any Database
    let runtime: Runtime
    let authenticator: any Authenticator
    let sync: SyncService
    let notifier: ChangeNotifier
    let idempotency: IdempotencyStore
    let migrations: [Migration]
    /// The contract the server was built from, served at `GET /openapi.yaml`.
    let openAPIDocument: Data
    // Capabilities
    let tokens: TokenService
    let identity: IdentityService
    let catalog: CatalogStore
    let cases: CaseStore
    let caseStatistics: CaseStatistics
    let blobs: BlobStore
    let wallet: Wallet
    let payments: Payments
    let blobCitations: BlobCitations
}
