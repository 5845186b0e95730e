/// An uploaded material file as the server knows it for one account: server-side state that `case.submit` reads to
/// check that every material's file exists and was uploaded by the applicant. Never synced.
public struct BlobRef: SyncEntity {
    public static let entityType: EntityType = .blob

    /// The file's SHA-256, lower-case hex.
    public var id: String
    public var size: Int
    public var contentType: String

    public init(sha256: String, size: Int, contentType: String) {
        self.id = sha256
        self.size = size
        self.contentType = contentType
    }
}
