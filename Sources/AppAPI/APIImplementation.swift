import Foundation
import Logging

/// The one implementation of the generated `APIProtocol`; each capability folder adds its handlers in an
/// extension (`Catalog/CatalogAPI.swift`, `Ops/OpsAPI.swift`, …).
struct APIImplementation: APIProtocol {
    let database: any Database
    let catalog: CatalogRepository
    let tokens: TokenService
    let identity: IdentityService
    let sync: SyncService
    let cases: CaseStore
    let blobs: BlobStore
    let idempotency: IdempotencyStore
    /// The contract the server was built from, served at `GET /openapi.yaml`.
    let openAPIDocument: Data

    init(database: any Database, openAPIDocument: Data, bcryptCost: UInt8) {
        self.database = database
        self.catalog = CatalogRepository(database: database)
        self.tokens = TokenService(database: database)
        self.identity = IdentityService(database: database, tokens: tokens, bcryptCost: bcryptCost)
        self.cases = CaseStore(database: database, observers: [CaseMessages(), RectificationTasks()], calendar: CalendarCache())
        self.sync = SyncService(database: database, clock: ServerClock(), cases: cases)
        self.blobs = BlobStore(database: database)
        self.idempotency = IdempotencyStore(database: database)
        self.openAPIDocument = openAPIDocument
    }

    /// A problem body for a typed handler output, carrying the current request id.
    func problem(_ error: AppError) -> Components.Schemas.Problem {
        let scope = RequestScope.current
        let document = ProblemDocument(error, requestID: scope?.requestID, instance: scope?.path)
        return Components.Schemas.Problem(
            _type: document.type, title: document.title, status: document.status, detail: document.detail,
            instance: document.instance, code: document.code, requestId: document.requestId,
            errors: document.errors?.map { .init(pointer: $0.pointer, detail: $0.detail) }
        )
    }
}
