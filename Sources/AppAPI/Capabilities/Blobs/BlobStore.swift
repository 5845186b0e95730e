import Crypto
import Foundation
import SQLKit
import SyncCore

/// Material files (ID scans, contracts, photos), content-addressed by SHA-256: uploading the same file twice
/// stores it once. Each uploader is recorded as an owner (`blob_owners`), within a per-account quota.
struct BlobStore: Sendable {
    /// 10 MiB per file: a phone photo or a scanned PDF.
    static let maxBytes = 10 << 20
    /// Per account: enough files and bytes for every case a person files in years, not a free file host.
    static let maxFilesPerAccount = 200
    static let maxBytesPerAccount = 200 << 20
    static let allowedTypes: Set<String> = ["image/jpeg", "image/png", "application/pdf"]

    let database: any Database
    let runtime: Runtime

    struct Blob: Sendable, Equatable {
        var sha256: String
        var size: Int
        var contentType: String
    }

    func store(_ bytes: Data, contentType: String, owner accountID: String) async throws -> Blob {
        guard Self.allowedTypes.contains(contentType) else { throw AppError(.unsupportedMediaType, "Materials must be JPEG, PNG or PDF.") }
        guard !bytes.isEmpty else { throw AppError.badRequest("The file is empty.", code: .emptyFile) }
        guard Self.sniff(bytes) == contentType else { throw AppError(.contentMismatch, "The file's content is not \(contentType).") }
        let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        try await database.transaction { [runtime] db in
            if try await db.select().column("sha256").from("blob_owners").where("sha256", .equal, sha).where("account_id", .equal, accountID).first()
                != nil
            {
                return
            }
            // The account's row lock: two uploads of one account count one after the other.
            try await ChangeLog.lock(.user(accountID), on: db)
            let usage = try await db.raw(
                """
                SELECT COUNT(*) AS files, CAST(COALESCE(SUM(b.size), 0) AS BIGINT) AS bytes FROM blob_owners o JOIN blobs b ON b.sha256 = o.sha256
                WHERE o.account_id = \(bind: accountID)
                """
            ).first()
            let files = try usage?.decode(column: "files", as: Int.self) ?? 0
            let used = try usage?.decode(column: "bytes", as: Int.self) ?? 0
            guard files < Self.maxFilesPerAccount, used + bytes.count <= Self.maxBytesPerAccount else {
                throw AppError(
                    .quotaExceeded,
                    "Your uploads are at their limit (\(Self.maxFilesPerAccount) files, \(Self.maxBytesPerAccount >> 20) MiB); materials of finished cases stay available to the departments."
                )
            }
            try await db.insert(into: "blobs").columns("sha256", "size", "content_type", "bytes", "created_at")
                .values(SQLBind(sha), SQLBind(bytes.count), SQLBind(contentType), SQLBind(bytes), SQLBind(runtime.now()))
                .ignoringConflicts(with: ["sha256"]).run()
            try await db.insert(into: "blob_owners").columns("sha256", "account_id").values(SQLBind(sha), SQLBind(accountID))
                .ignoringConflicts(with: ["sha256", "account_id"]).run()
        }
        return Blob(sha256: sha, size: bytes.count, contentType: contentType)
    }

    /// Whether `accountID` uploaded the blob.
    func isOwned(_ sha256: String, by accountID: String) async throws -> Bool {
        try await database.read { db in
            try await db.select().column("sha256").from("blob_owners").where("sha256", .equal, sha256).where("account_id", .equal, accountID).first()
                != nil
        }
    }

    func load(_ sha256: String) async throws -> (blob: Blob, bytes: Data)? {
        try await database.read { db in
            guard let row = try await db.select().columns("size", "content_type", "bytes").from("blobs").where("sha256", .equal, sha256).first()
            else {
                return nil
            }
            return (
                Blob(
                    sha256: sha256, size: try row.decode(column: "size", as: Int.self),
                    contentType: try row.decode(column: "content_type", as: String.self)),
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

    /// Whether `sha256` is 64 lower-case hex digits.
    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// Uploaded files for the sync engine: `case.submit` and `case.supplement` read a `BlobRef` for each material's file,
/// present only when the applicant uploaded it.
struct BlobRefPersister: EntityPersister {
    var entityType: EntityType { .blob }

    func load(_ keys: [EntityKey], context: MutationContext, from log: ChangeLogView) async throws -> [EntityKey: [UInt8]?] {
        let shas = keys.map(\.id).filter(BlobStore.isSHA256)
        guard !shas.isEmpty else { return [:] }
        let rows = try await log.db.raw(
            """
            SELECT b.sha256, b.size, b.content_type FROM blob_owners o JOIN blobs b ON b.sha256 = o.sha256
            WHERE o.account_id = \(bind: context.accountID) AND o.sha256 IN (\(binds: shas))
            """
        ).all()
        var loaded: [EntityKey: [UInt8]?] = [:]
        for row in rows {
            let ref = BlobRef(
                sha256: try row.decode(column: "sha256", as: String.self), size: try row.decode(column: "size", as: Int.self),
                contentType: try row.decode(column: "content_type", as: String.self))
            loaded[EntityKey(.blob, ref.id)] = .some(SyncJSON.encode(ref))
        }
        return loaded
    }

    func persist(_ key: EntityKey, old: [UInt8]?, new: [UInt8]?, context: MutationContext, on log: ChangeLogView) async throws -> [ChangeRecord] {
        throw MutationRejection(.forbidden, "Files are uploaded with POST /v1/blobs, not written by mutators.")
    }
}

/// Which submitted cases cite a file, asked when staff download it. Answered by the capability that owns cases;
/// `buildApplication` wires it in, so this folder names no other capability.
struct BlobCitations: Sendable {
    /// Whether a submitted case of `department` (of any department when `nil`) cites the file.
    var isCited: @Sendable (_ sha256: String, _ department: String?) async throws -> Bool
}

extension ProblemCode {
    /// An upload without bytes.
    static let emptyFile = ProblemCode("empty_file", .badRequest)
    /// The file's content is not the type it was uploaded as.
    static let contentMismatch = ProblemCode("content_mismatch", .invalid)
}
