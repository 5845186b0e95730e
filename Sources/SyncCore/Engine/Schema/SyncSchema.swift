import Foundation

/// What the engine needs to know about one entity type: whether it travels to devices, and the text offline search
/// matches (for searchable types).
public struct EntityDescriptor: Sendable {
    public let type: EntityType
    /// Server-side state a mutator may read (appointment slots, file ownership): never in a change, a pull or a replica.
    public let serverOnly: Bool
    private let searchTextOfJSON: (@Sendable ([UInt8]) -> String?)?

    /// Describes `E`; `searchText` gives the lower-cased text keyword search matches, for searchable types.
    public init<E: SyncEntity>(_ entity: E.Type, serverOnly: Bool = false, searchText: (@Sendable (E) -> String)? = nil) {
        type = E.entityType
        self.serverOnly = serverOnly
        if let searchText {
            searchTextOfJSON = { json in
                guard let entity = try? SyncJSON.decoder.decode(E.self, from: Data(json)) else { return nil }
                return searchText(entity)
            }
        } else {
            searchTextOfJSON = nil
        }
    }

    /// Whether offline search indexes this type.
    public var isSearchable: Bool { searchTextOfJSON != nil }

    /// The search text of an entity of this type, or `nil` when the type is not searchable or the JSON unreadable.
    public func searchText(_ json: [UInt8]) -> String? { searchTextOfJSON?(json) }
}

/// A domain as the sync engine sees it: its entity types and its mutators. The engine (replica, outbox, server
/// runner) names no particular type or mutator; a domain hands it one of these, so a new entity type or mutator is a
/// domain change only.
public struct SyncSchema: Sendable {
    public let entities: [EntityType: EntityDescriptor]
    public let mutators: [String: AnyMutator]

    public init(entities: [EntityDescriptor], mutators: [AnyMutator]) {
        self.entities = Dictionary(entities.map { ($0.type, $0) }, uniquingKeysWith: { first, _ in first })
        self.mutators = Dictionary(mutators.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// This schema with more entity types and mutators (a domain built on another, or a test's).
    public func adding(entities more: [EntityDescriptor] = [], mutators moreMutators: [AnyMutator] = []) -> SyncSchema {
        SyncSchema(entities: Array(entities.values) + more, mutators: Array(mutators.values) + moreMutators)
    }

    /// The descriptor of a type that travels to devices, or `nil` for an unknown or server-only type.
    public func syncedEntity(_ type: EntityType) -> EntityDescriptor? {
        guard let descriptor = entities[type], !descriptor.serverOnly else { return nil }
        return descriptor
    }

    /// Looks a mutator up, or rejects the mutation as unknown.
    public func mutator(named name: String) throws(MutationRejection) -> AnyMutator {
        guard let mutator = mutators[name] else {
            throw MutationRejection(.unknownMutator, "No mutator is named '\(name.prefix(64))'.")
        }
        return mutator
    }

    /// The search text of `json` for a searchable type.
    func searchText(for type: EntityType, json: [UInt8]) -> String? { entities[type]?.searchText(json) }
}
