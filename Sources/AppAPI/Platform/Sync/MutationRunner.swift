import Foundation
import SQLKit
import SyncCore

/// Runs a named mutator authoritatively inside the caller's transaction — for a push and for the REST routes that
/// mirror a mutator alike, so a phone that applies offline and one that calls the route meet exactly the same rules.
///
/// The run: look the mutator up and check the caller's role; validate the ids it reads; load them through their
/// persisters (locked, dependent keys too); apply the pure mutator; bound each written entity's size; persist
/// through the persisters. A rejection anywhere leaves nothing behind once the caller rolls back (push runs each
/// mutation in its own savepoint).
struct MutationRunner: Sendable {
    let schema: SyncSchema
    let registry: SyncRegistry

    /// The change records of a successful run, or its rejection. Other errors (database faults) propagate.
    func run(_ name: String, args: [UInt8], context: MutationContext, on log: ChangeLogView) async throws -> Result<[ChangeRecord], MutationRejection>
    {
        do {
            return .success(try await records(name, args: args, context: context, on: log))
        } catch let rejection as MutationRejection {
            return .failure(rejection)
        }
    }

    private func records(_ name: String, args: [UInt8], context: MutationContext, on log: ChangeLogView) async throws -> [ChangeRecord] {
        let mutator = try schema.mutator(named: name)
        let keys = try mutator.reads(args, context: context)
        var loaded = try await load(keys, context: context, from: log)
        var dependent: [EntityKey] = []
        for persister in registry.all { dependent += persister.dependentKeys(given: loaded).filter { loaded[$0] == nil } }
        if !dependent.isEmpty { loaded.merge(try await load(dependent, context: context, from: log)) { first, _ in first } }

        var state = MutationState(entities: loaded)
        try mutator.apply(args, to: &state, context: context)

        var records: [ChangeRecord] = []
        for key in state.written {
            let new = state.json(key)
            if let new, new.count > ChangeLog.maxEntityBytes {
                throw MutationRejection(
                    .entityTooLarge,
                    "\(key.type.rawValue) \(key.id) would be \(new.count / 1024) KiB; one entity may have \(ChangeLog.maxEntityBytes / 1024) KiB.")
            }
            records += try await registry.persister(for: key.type).persist(key, old: loaded[key] ?? nil, new: new, context: context, on: log)
        }
        return records
    }

    /// Loads `keys` type by type in sorted order (a fixed lock order), each through its persister.
    private func load(_ keys: [EntityKey], context: MutationContext, from log: ChangeLogView) async throws -> [EntityKey: [UInt8]?] {
        for key in keys { try Self.validate(key) }
        var loaded: [EntityKey: [UInt8]?] = [:]
        for (type, group) in Dictionary(grouping: Set(keys), by: \.type).sorted(by: { $0.key < $1.key }) {
            let found = try await registry.persister(for: type).load(group.sorted(), context: context, from: log)
            for key in group { loaded[key] = .some(nil) }
            loaded.merge(found) { _, found in found }
        }
        return loaded
    }

    /// An id a device sent, before it reaches a query: 1 to 256 bytes, no control characters (PostgreSQL refuses
    /// NUL in text; a newline has no business in an id).
    static func validate(_ key: EntityKey) throws(MutationRejection) {
        guard (1...256).contains(key.id.utf8.count), !key.id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw MutationRejection.invalid("\(key.type.rawValue)Id", "1 to 256 characters, no control characters")
        }
    }
}
