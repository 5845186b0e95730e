import Foundation
import OpenAPIRuntime

/// Material uploads and downloads.
extension APIImplementation {
    func uploadBlob(_ input: Operations.UploadBlob.Input) async throws -> Operations.UploadBlob.Output {
        let me = try await authenticate()
        let (body, contentType): (HTTPBody, String) =
            switch input.body {
            case .jpeg(let body): (body, "image/jpeg")
            case .png(let body): (body, "image/png")
            case .pdf(let body): (body, "application/pdf")
            }
        let bytes = try await Data(collecting: body, upTo: BlobStore.maxBytes)
        let blob = try await blobs.store(bytes, contentType: contentType, owner: me.accountID)
        return .created(.init(body: .json(.init(sha256: blob.sha256, size: blob.size, contentType: blob.contentType))))
    }

    func downloadBlob(_ input: Operations.DownloadBlob.Input) async throws -> Operations.DownloadBlob.Output {
        let me = try await authenticate()
        let sha = input.path.sha256
        let notFound = Operations.DownloadBlob.Output.notFound(.init(body: .applicationProblemJson(problem(.notFound("No file \(sha) for you.")))))
        // Applicants see their own uploads; staff see any (they review materials).
        if AccountKind.applicants.contains(me.kind) || me.kind == .kiosk {
            guard try await blobs.isOwned(sha, by: me.accountID) else { return notFound }
        }
        guard let (blob, bytes) = try await blobs.load(sha) else { return notFound }
        let body = HTTPBody(bytes)
        switch blob.contentType {
        case "image/png": return .ok(.init(body: .png(body)))
        case "application/pdf": return .ok(.init(body: .pdf(body)))
        default: return .ok(.init(body: .jpeg(body)))
        }
    }
}
