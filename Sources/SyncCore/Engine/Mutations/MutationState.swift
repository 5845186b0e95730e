import Foundation

/// An entity that lives in a sync scope and can be read or written by mutators.
public protocol SyncEntity: Codable, Sendable, Equatable {
    static var entityType: EntityType { get }
    var id: String { get }
}

/// Addresses one entity.
public struct EntityKey: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var type: EntityType
    public var id: String

    public init(_ type: EntityType, _ id: String) {
        self.type = type
        self.id = id
    }

    public var description: String { "\(type.rawValue)/\(id)" }

    public static func < (lhs: EntityKey, rhs: EntityKey) -> Bool { (lhs.type, lhs.id) < (rhs.type, rhs.id) }
}

/// Why a mutation (or a request) was refused: a stable code the app can switch on, a sentence it can show, and
/// structured details — the fields at fault and, where the refusal offers some, alternatives to choose instead.
public struct MutationRejection: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: ProblemCode
    public var detail: String
    /// The fields at fault, as JSON pointers into the arguments.
    public var errors: [FieldProblem]
    /// What the caller may choose instead (e.g. free slots when the chosen one is full).
    public var alternatives: [String]

    public init(_ code: ProblemCode, _ detail: String, errors: [FieldProblem] = [], alternatives: [String] = []) {
        self.code = code
        self.detail = detail
        self.errors = errors
        self.alternatives = alternatives
    }

    /// An `invalid_args` rejection naming the field at fault (`field` is a path like `materials/0/name`).
    public static func invalid(_ field: String, _ detail: String) -> MutationRejection {
        MutationRejection(.invalidArgs, "\(field): \(detail)", errors: [FieldProblem(pointer: "/" + field, detail: detail)])
    }

    /// The kind of failure, which decides the HTTP status on REST routes.
    public var kind: ProblemKind { code.kind }

    public var description: String { "\(code.rawValue): \(detail)" }
}

/// The entities a mutator may read and write: loaded by the caller (the server from SQL, the phone from its
/// replica) before the pure `apply` runs, so mutators never do I/O and run identically everywhere.
public struct MutationState: Sendable {
    /// JSON of each loaded entity; `nil` means absent (never existed or deleted).
    public private(set) var entities: [EntityKey: [UInt8]?]
    /// Keys `apply` wrote, in the order first written.
    public private(set) var written: [EntityKey] = []

    public init(entities: [EntityKey: [UInt8]?] = [:]) {
        self.entities = entities
    }

    public func get<E: SyncEntity>(_ type: E.Type, id: String) throws(MutationRejection) -> E? {
        guard let stored = entities[EntityKey(E.entityType, id)], let data = stored else { return nil }
        do {
            return try SyncJSON.decoder.decode(E.self, from: Data(data))
        } catch {
            throw MutationRejection(.corruptState, "\(E.entityType.rawValue) \(id) cannot be read")
        }
    }

    /// Whether the caller loaded `key` (present or absent), as opposed to not having it at all.
    public func loaded(_ key: EntityKey) -> Bool { entities[key] != nil }

    public mutating func put<E: SyncEntity>(_ entity: E) {
        let key = EntityKey(E.entityType, entity.id)
        entities[key] = .some(SyncJSON.encode(entity))
        if !written.contains(key) { written.append(key) }
    }

    public mutating func delete(_ key: EntityKey) {
        entities[key] = .some(nil)
        if !written.contains(key) { written.append(key) }
    }

    /// The JSON now held for `key` (`nil` when absent or deleted).
    public func json(_ key: EntityKey) -> [UInt8]? { entities[key] ?? nil }
}

/// Who runs a mutation, and when.
public struct MutationContext: Sendable {
    /// The account the mutating device belongs to.
    public var accountID: String
    /// The account's kind.
    public var role: AccountRole
    public var clientID: String
    /// The edit's timestamp for last-writer-wins fields (already bounded by the server).
    public var hlc: HLC
    /// Wall-clock milliseconds of the applying side.
    public var now: Int64
    /// Whether this run decides (the server, which loads server-side state such as slots and file ownership) or
    /// predicts (a phone's optimistic run, which may lack that state; the server's run may still refuse).
    public var authoritative: Bool

    public init(accountID: String, role: AccountRole, clientID: String, hlc: HLC, now: Int64, authoritative: Bool) {
        self.accountID = accountID
        self.role = role
        self.clientID = clientID
        self.hlc = hlc
        self.now = now
        self.authoritative = authoritative
    }
}

/// A named mutator: a pure function from (state, args) to a new state or a rejection. The server runs it
/// authoritatively; a phone runs the same code optimistically on its replica and rebases after each pull.
public protocol Mutator: Sendable {
    associatedtype Args: Codable & Sendable
    static var name: String { get }
    /// The account kinds that may run it (checked before anything is read).
    static var allowedRoles: Set<AccountRole> { get }
    /// The entities `apply` reads (they are loaded before it runs).
    static func reads(_ args: Args, context: MutationContext) -> [EntityKey]
    static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection)
}

/// A mutator with its arguments still in JSON, as they travel.
public struct AnyMutator: Sendable {
    public let name: String
    public let allowedRoles: Set<AccountRole>
    private let readsJSON: @Sendable ([UInt8], MutationContext) throws(MutationRejection) -> [EntityKey]
    private let applyJSON: @Sendable ([UInt8], inout MutationState, MutationContext) throws(MutationRejection) -> Void

    public init<M: Mutator>(_ mutator: M.Type) {
        name = M.name
        allowedRoles = M.allowedRoles
        readsJSON = { (json, context) throws(MutationRejection) in M.reads(try Self.decode(M.Args.self, json), context: context) }
        applyJSON = { (json, state, context) throws(MutationRejection) in
            try M.apply(try Self.decode(M.Args.self, json), to: &state, context: context)
        }
    }

    /// The entities the mutation reads; refuses a role the mutator does not allow, and malformed arguments.
    public func reads(_ args: [UInt8], context: MutationContext) throws(MutationRejection) -> [EntityKey] {
        guard allowedRoles.contains(context.role) else {
            throw MutationRejection(.forbidden, "A \(context.role.rawValue) account cannot run \(name).")
        }
        return try readsJSON(args, context)
    }

    public func apply(_ args: [UInt8], to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        guard allowedRoles.contains(context.role) else {
            throw MutationRejection(.forbidden, "A \(context.role.rawValue) account cannot run \(name).")
        }
        try applyJSON(args, &state, context)
    }

    private static func decode<A: Decodable>(_ type: A.Type, _ json: [UInt8]) throws(MutationRejection) -> A {
        do {
            return try SyncJSON.decoder.decode(A.self, from: Data(json))
        } catch let error as MutationRejection {
            throw error
        } catch let error as DecodingError {
            throw ArgumentProblem.rejection(for: error)
        } catch {
            throw MutationRejection(.invalidArgs, "The arguments are not a JSON object.")
        }
    }
}

/// Turns a decoding failure into a rejection that names the field and the expected kind of value in user terms —
/// never Swift type names or decoder internals.
enum ArgumentProblem {
    static func rejection(for error: DecodingError) -> MutationRejection {
        func path(_ codingPath: [any CodingKey]) -> String {
            let parts = codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.filter { !$0.isEmpty }
            return parts.isEmpty ? "arguments" : parts.joined(separator: "/")
        }
        switch error {
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return .invalid(path(context.codingPath), "expected \(describe(type))")
        case .keyNotFound(let key, let context):
            return .invalid(path(context.codingPath + [key]), "is required")
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? MutationRejection(.invalidArgs, "The arguments are not valid JSON.")
                : .invalid(path(context.codingPath), "has an invalid value")
        @unknown default:
            return MutationRejection(.invalidArgs, "The arguments do not match the mutator.")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Bool.Type: "true or false"
        case is Double.Type, is Float.Type: "a number"
        case is String.Type: "a string"
        default: String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }
}

/// JSON settings shared by every side, so the same entity always has the same bytes.
public enum SyncJSON {
    public static let decoder = JSONDecoder()
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static func encode<E: Encodable>(_ value: E) -> [UInt8] {
        // Encoding our own Codable structs cannot fail.
        Array(try! encoder.encode(value))
    }
}
