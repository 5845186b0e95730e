import Foundation
import HTTPTypes
import OneTripAPI
import OpenAPIRuntime
import SyncCore

/// Material uploads and downloads.
extension APIImplementation {
    func uploadBlob(_ input: Operations.UploadBlob.Input) async throws -> Operations.UploadBlob.Output {
        let me = try await authenticate(AccountRole.applicants)
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
        let notFound = AppError.notFound("No file \(sha.prefix(64)) for you.")
        guard BlobStore.isSHA256(sha) else { throw notFound }
        let allowed: Bool
        switch me.kind {
        case .citizen, .enterprise: allowed = try await blobs.isOwned(sha, by: me.accountID)
        case .clerk: allowed = try await me.departmentID.asyncMap { try await blobCitations.isCited(sha, $0) } ?? false
        case .admin: allowed = try await blobCitations.isCited(sha, nil)
        case .kiosk: allowed = false
        }
        guard allowed, let (blob, bytes) = try await blobs.load(sha) else { throw notFound }
        let body = HTTPBody(bytes)
        let disposition = "attachment; filename=\"\(sha).\(Self.fileExtension(blob.contentType))\""
        let headers = Operations.DownloadBlob.Output.Ok.Headers(contentDisposition: disposition, xContentTypeOptions: .nosniff)
        switch blob.contentType {
        case "image/png": return .ok(.init(headers: headers, body: .png(body)))
        case "application/pdf": return .ok(.init(headers: headers, body: .pdf(body)))
        default: return .ok(.init(headers: headers, body: .jpeg(body)))
        }
    }

    private static func fileExtension(_ contentType: String) -> String {
        switch contentType {
        case "image/png": "png"
        case "application/pdf": "pdf"
        default: "jpg"
        }
    }
}
