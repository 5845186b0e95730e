/// What kind of failure a problem is. The server maps kinds to HTTP statuses in one place; apps may switch on the
/// kind when they do not know a specific code.
public enum ProblemKind: String, Sendable, Codable, CaseIterable {
    /// The request itself is malformed (HTTP 400).
    case badRequest = "bad_request"
    /// No valid credentials (401).
    case unauthenticated
    /// The caller may not do this (403).
    case forbidden
    /// The thing named does not exist for the caller (404).
    case notFound = "not_found"
    /// The thing exists but is not in a state that allows this now (409).
    case conflict
    /// A body over its limit (413).
    case tooLarge = "too_large"
    /// A body of a type the route does not take (415).
    case unsupportedMediaType = "unsupported_media_type"
    /// Well-formed but invalid content (422).
    case invalid
    /// Too many requests or over a quota's rate (429).
    case tooMany = "too_many"
    /// A fault on our side (500).
    case `internal`
    /// A dependency is down (503).
    case unavailable
}

/// A stable, machine-readable problem code (`not_found`, `slot_full`, …) and its kind. Every code is declared once,
/// as a static constant on this type — the engine's here, each domain's beside its mutators — so no code is spelled
/// as a string literal twice.
public struct ProblemCode: Hashable, Sendable, CustomStringConvertible {
    /// The wire form, e.g. `invalid_args`.
    public let rawValue: String
    /// What kind of failure it is.
    public let kind: ProblemKind

    /// Declares a code. Use a static constant; codes are part of the contract.
    public init(_ rawValue: String, _ kind: ProblemKind) {
        self.rawValue = rawValue
        self.kind = kind
    }

    public var description: String { rawValue }

    public static func == (lhs: ProblemCode, rhs: ProblemCode) -> Bool { lhs.rawValue == rhs.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}

extension ProblemCode {
    // Sync engine and mutator framework.
    /// Arguments or fields that do not satisfy the mutator or route.
    public static let invalidArgs = ProblemCode("invalid_args", .invalid)
    /// The entity named does not exist for the caller.
    public static let notFound = ProblemCode("not_found", .notFound)
    /// The caller's account kind may not do this.
    public static let forbidden = ProblemCode("forbidden", .forbidden)
    /// The state machine does not allow the move now.
    public static let invalidTransition = ProblemCode("invalid_transition", .conflict)
    /// No mutator has the name.
    public static let unknownMutator = ProblemCode("unknown_mutator", .invalid)
    /// A stored entity could not be read.
    public static let corruptState = ProblemCode("corrupt_state", .internal)
    /// A field the server owns was sent from a device.
    public static let serverOwnedField = ProblemCode("server_owned_field", .invalid)
    /// A mutation id was used before for a different mutation: renumber from `lastMutationId + 1`.
    public static let mutationIDReused = ProblemCode("mutation_id_reused", .conflict)
    /// A mutation id is not the next one the server expects; resend from `lastMutationId + 1`.
    public static let outOfOrder = ProblemCode("out_of_order", .conflict)
    /// An id chosen by a device is already held by another account.
    public static let idTaken = ProblemCode("id_taken", .conflict)
    /// An entity would grow beyond the size one entity may have.
    public static let entityTooLarge = ProblemCode("entity_too_large", .invalid)
    /// A per-account limit (devices, files, open appointments, …) is reached.
    public static let quotaExceeded = ProblemCode("quota_exceeded", .conflict)
    /// The sync client id belongs to another account.
    public static let clientMismatch = ProblemCode("client_mismatch", .forbidden)
    /// The sync client id is in use by another live device (a copied replica): take a new client id.
    public static let clientCloned = ProblemCode("client_cloned", .conflict)
    /// A fault on the server while applying one mutation; the mutation is not applied.
    public static let internalError = ProblemCode("internal_error", .internal)
    /// A replica lost the mutation locally (it could not be replayed).
    public static let lost = ProblemCode("lost", .conflict)
}

/// A problem with one field of a request: `pointer` is a JSON pointer into the body (or a parameter name).
public struct FieldProblem: Codable, Hashable, Sendable {
    public var pointer: String
    public var detail: String

    public init(pointer: String, detail: String) {
        self.pointer = pointer
        self.detail = detail
    }
}
