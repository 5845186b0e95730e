/// What a phone holds about its own account (`user:` scope).

/// The account's profile. `name` and `kind` are server-owned (they come from the verified identity); the
/// contact fields are client-editable and merge per field by last-writer-wins.
public struct Profile: SyncEntity {
    public static let entityType: EntityType = .profile
    /// Fields a client may edit (everything else is server-owned).
    public static let editableFields: Set<String> = ["nickname", "email", "address", "contactPhone", "language", "notifySMS"]

    public var id: String
    public var name: String
    public var kind: String
    public var nickname: String?
    public var email: String?
    /// Postal address for express delivery of results (快递送达).
    public var address: String?
    public var contactPhone: String?
    public var language: String
    public var notifySMS: Bool
    public var fieldClocks: FieldClocks

    public init(id: String, name: String, kind: String, language: String = "zh-CN", notifySMS: Bool = true) {
        self.id = id
        self.name = name
        self.kind = kind
        self.language = language
        self.notifySMS = notifySMS
        self.fieldClocks = FieldClocks()
    }
}

/// A message to the applicant (progress of a case, a receipt, a reminder).
public struct Message: SyncEntity {
    public static let entityType: EntityType = .message

    public var id: String
    public var title: String
    public var body: String
    /// What the message is about, e.g. `welcome`, `case`, `payment`.
    public var category: String
    /// The case, order or license it concerns, if any.
    public var subjectID: String?
    public var createdAt: Int64
    /// When the owner first read it on any device (read is sticky: the earliest read wins).
    public var readAt: Int64?

    public init(id: String, title: String, body: String, category: String, subjectID: String? = nil, createdAt: Int64, readAt: Int64? = nil) {
        self.id = id
        self.title = title
        self.body = body
        self.category = category
        self.subjectID = subjectID
        self.createdAt = createdAt
        self.readAt = readAt
    }
}
