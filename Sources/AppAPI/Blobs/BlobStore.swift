import Crypto
import Foundation
import SQLKit

/// Material files (ID scans, contracts, photos), content-addressed by SHA-256: uploading the same file twice
/// stores it once. Each uploader is recorded as an owner; owners and staff may read it.
struct BlobStore: Sendable {
    /// 10 MiB per file: a phone photo or a scanned PDF.
    static let maxBytes = 10 << 20
    static let allowedTypes: Set<String> = ["image/jpeg", "image/png", "application/pdf"]

    let database: any Database

    struct Blob: Sendable, Equatable {
        var sha256: String
        var size: Int
        var contentType: String
    }

    func store(_ bytes: Data, contentType: String, owner accountID: String) async throws -> Blob {
        guard Self.allowedTypes.contains(contentType) else {
            throw AppError(status: .unsupportedMediaType, code: "unsupported_media_type", title: "Unsupported file type",
                detail: "Materials must be JPEG, PNG or PDF.")
        }
        guard !bytes.isEmpty else { throw AppError.badRequest("The file is empty.", code: "empty_file") }
        guard Self.sniff(bytes) == contentType else {
            throw AppError(status: .unprocessableContent, code: "content_mismatch", title: "File type mismatch",
                detail: "The file's content is not \(contentType).")
        }
        let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        try await database.transaction { db in
            try await db.insert(into: "blobs").columns("sha256", "size", "content_type", "bytes", "created_at")
                .values(SQLBind(sha), SQLBind(bytes.count), SQLBind(contentType), SQLBind(bytes), SQLBind(Clock.nowMillis()))
                .ignoringConflicts(with: ["sha256"]).run()
            try await db.insert(into: "blob_owners").columns("sha256", "account_id").values(SQLBind(sha), SQLBind(accountID))
                .ignoringConflicts(with: ["sha256", "account_id"]).run()
        }
        return Blob(sha256: sha, size: bytes.count, contentType: contentType)
    }

    /// Whether `accountID` uploaded the blob (staff access is decided by the caller).
    func isOwned(_ sha256: String, by accountID: String) async throws -> Bool {
        try await database.read { db in
            try await db.select().column("sha256").from("blob_owners").where("sha256", .equal, sha256).where("account_id", .equal, accountID).first() != nil
        }
    }

    func load(_ sha256: String) async throws -> (blob: Blob, bytes: Data)? {
        try await database.read { db in
            guard let row = try await db.select().columns("size", "content_type", "bytes").from("blobs").where("sha256", .equal, sha256).first() else {
                return nil
            }
            return (
                Blob(sha256: sha256, size: try row.decode(column: "size", as: Int.self), contentType: try row.decode(column: "content_type", as: String.self)),
                try row.decode(column: "bytes", as: Data.self)
            )
        }
    }

    /// The content type the leading bytes declare (JPEG, PNG, PDF), or `nil`.
    static func sniff(_ bytes: Data) -> String? {
        let head = [UInt8](bytes.prefix(8))
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if head.starts(with: Array("%PDF-".utf8)) { return "application/pdf" }
        return nil
    }
}
