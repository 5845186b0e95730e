import Foundation

/// An entity that lives in a sync scope and can be read or written by mutators.
public protocol SyncEntity: Codable, Sendable, Equatable {
    static var entityType: EntityType { get }
    var id: String { get }
}

/// Addresses one entity.
public struct EntityKey: Hashable, Sendable, Codable, CustomStringConvertible {
    public var type: EntityType
    public var id: String

    public init(_ type: EntityType, _ id: String) {
        self.type = type
        self.id = id
    }

    public var description: String { "\(type.rawValue)/\(id)" }
}

/// Why a mutation was refused: a stable code the app can switch on and a sentence it can show.
public struct MutationRejection: Error, Equatable, Sendable {
    public var code: String
    public var detail: String

    public init(_ code: String, _ detail: String) {
        self.code = code
        self.detail = detail
    }
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
            throw MutationRejection("corrupt_state", "\(E.entityType.rawValue) \(id) cannot be read")
        }
    }

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
    public var clientID: String
    /// The edit's timestamp for last-writer-wins fields (already bounded by the server).
    public var hlc: HLC
    /// Wall-clock milliseconds of the applying side.
    public var now: Int64

    public init(accountID: String, clientID: String, hlc: HLC, now: Int64) {
        self.accountID = accountID
        self.clientID = clientID
        self.hlc = hlc
        self.now = now
    }
}

/// A named mutator: a pure function from (state, args) to a new state or a rejection. The server runs it
/// authoritatively; a phone runs the same code optimistically on its replica and rebases after each pull.
public protocol Mutator: Sendable {
    associatedtype Args: Codable & Sendable
    static var name: String { get }
    /// The entities `apply` reads (they are loaded before it runs).
    static func reads(_ args: Args, context: MutationContext) -> [EntityKey]
    static func apply(_ args: Args, to state: inout MutationState, context: MutationContext) throws(MutationRejection)
}

/// A mutator with its arguments still in JSON, as they travel.
public struct AnyMutator: Sendable {
    public let name: String
    private let readsJSON: @Sendable ([UInt8], MutationContext) throws(MutationRejection) -> [EntityKey]
    private let applyJSON: @Sendable ([UInt8], inout MutationState, MutationContext) throws(MutationRejection) -> Void

    public init<M: Mutator>(_ mutator: M.Type) {
        name = M.name
        readsJSON = { (json, context) throws(MutationRejection) in M.reads(try Self.decode(M.Args.self, json), context: context) }
        applyJSON = { (json, state, context) throws(MutationRejection) in try M.apply(try Self.decode(M.Args.self, json), to: &state, context: context) }
    }

    public func reads(_ args: [UInt8], context: MutationContext) throws(MutationRejection) -> [EntityKey] {
        try readsJSON(args, context)
    }

    public func apply(_ args: [UInt8], to state: inout MutationState, context: MutationContext) throws(MutationRejection) {
        try applyJSON(args, &state, context)
    }

    private static func decode<A: Decodable>(_ type: A.Type, _ json: [UInt8]) throws(MutationRejection) -> A {
        do {
            return try SyncJSON.decoder.decode(A.self, from: Data(json))
        } catch let error as MutationRejection {
            throw error
        } catch {
            throw MutationRejection("invalid_args", "The arguments do not match the mutator: \(error)")
        }
    }
}

/// Every mutator, by name. Capabilities add theirs here; server and client share the list.
public enum Mutators {
    public static let all: [String: AnyMutator] = Dictionary(
        uniqueKeysWithValues: [
            AnyMutator(ProfileUpdate.self), AnyMutator(MessageMarkRead.self),
            AnyMutator(CaseSaveDraft.self), AnyMutator(CaseSubmit.self), AnyMutator(CaseWithdraw.self), AnyMutator(CaseSupplement.self),
            AnyMutator(CaseRate.self),
            AnyMutator(AppointmentBook.self), AnyMutator(AppointmentCancel.self),
        ].map { ($0.name, $0) }
    )

    /// Looks a mutator up, or rejects the mutation as unknown.
    public static func named(_ name: String) throws(MutationRejection) -> AnyMutator {
        guard let mutator = all[name] else { throw MutationRejection("unknown_mutator", "No mutator is named '\(name)'.") }
        return mutator
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
