import Foundation
import SQLKit
import SyncCore

/// The change log as one mutation run sees it: what earlier mutations of the same push wrote (not yet appended)
/// over what is committed.
struct ChangeLogView: Sendable {
    let db: any SQLDatabase
    /// Records earlier mutations of this transaction produced, oldest first.
    var pending: [ChangeRecord] = []

    /// The entity's current JSON in `scope` (`nil` when absent or deleted); `locking` locks its row (see `ChangeLog`).
    func entity(_ key: EntityKey, in scope: Scope, locking: Bool = true) async throws -> [UInt8]? {
        if let earlier = pending.last(where: { $0.scope == scope && $0.type == key.type && $0.id == key.id }) {
            return earlier.data.map { Array($0.utf8) }
        }
        return try await ChangeLog.entity(key, in: scope, on: db, locking: locking)
    }
}

/// How the sync engine loads and stores one entity type for mutators. Each capability registers a persister for
/// every type its mutators read or write (`SyncRegistry`); the engine names none of them.
protocol EntityPersister: Sendable {
    var entityType: EntityType { get }

    /// Keys of this persister's type to load as well, given what is loaded so far (an appointment brings its slot).
    func dependentKeys(given loaded: [EntityKey: [UInt8]?]) -> [EntityKey]

    /// The current JSON of `keys` (all of this persister's type, sorted), locked for the rest of the transaction, plus
    /// any further server state of its own type the mutator needs beside them. A key missing from the answer is absent.
    func load(_ keys: [EntityKey], context: MutationContext, from log: ChangeLogView) async throws -> [EntityKey: [UInt8]?]

    /// Stores what a mutator wrote for `key` (`new == nil`: deleted) and returns the change records to publish.
    /// Throws a `MutationRejection` to refuse the write (an id another account holds, a server-only entity).
    func persist(_ key: EntityKey, old: [UInt8]?, new: [UInt8]?, context: MutationContext, on log: ChangeLogView) async throws -> [ChangeRecord]
}

extension EntityPersister {
    func dependentKeys(given loaded: [EntityKey: [UInt8]?]) -> [EntityKey] { [] }
}

/// An entity the change log alone stores, in one scope: the mutating account's `user:` scope (profile, messages,
/// appointments) or `public` (the catalog, which mutators only read).
struct ChangeLogPersister: EntityPersister {
    enum Home: Sendable {
        /// `user:<the mutating account>`.
        case owner
        case `public`
    }

    let entityType: EntityType
    let home: Home
    /// Whether devices choose this type's ids: a new id is claimed for its owner, and one another account holds is
    /// refused (`id_taken`) instead of living on in two scopes.
    let devicesChooseIDs: Bool

    init(_ entityType: EntityType, home: Home, devicesChooseIDs: Bool = false) {
        self.entityType = entityType
        self.home = home
        self.devicesChooseIDs = devicesChooseIDs
    }

    func scope(_ context: MutationContext) -> Scope {
        switch home {
        case .owner: .user(context.accountID)
        case .public: .public
        }
    }

    func load(_ keys: [EntityKey], context: MutationContext, from log: ChangeLogView) async throws -> [EntityKey: [UInt8]?] {
        var loaded: [EntityKey: [UInt8]?] = [:]
        // The catalog is read, never written, by mutators: no lock needed.
        for key in keys { loaded[key] = .some(try await log.entity(key, in: scope(context), locking: home == .owner)) }
        return loaded
    }

    func persist(_ key: EntityKey, old: [UInt8]?, new: [UInt8]?, context: MutationContext, on log: ChangeLogView) async throws -> [ChangeRecord] {
        guard home == .owner else {
            throw MutationRejection(.forbidden, "\(key.type.rawValue) entities are not written from devices.")
        }
        let scope = scope(context)
        if devicesChooseIDs && old == nil && new != nil { try await EntityClaims.claim(key, for: scope, on: log.db) }
        return [new.map { .upsert(json: $0, key: key, in: scope) } ?? .delete(key, in: scope)]
    }
}

/// Who holds each device-chosen id (`entity_claims`): the first scope that created it.
enum EntityClaims {
    /// Claims `key` for `scope`; refuses with `id_taken` when another scope holds it. The primary key makes two
    /// concurrent first claims safe: the second waits for the first to commit, then sees its claim.
    static func claim(_ key: EntityKey, for scope: Scope, on db: any SQLDatabase) async throws {
        let inserted = try await db.raw(
            """
            INSERT INTO entity_claims (entity_type, entity_id, scope) VALUES (\(bind: key.type.rawValue), \(bind: key.id), \(bind: scope.rawValue))
            ON CONFLICT (entity_type, entity_id) DO NOTHING RETURNING scope
            """
        ).first()
        if inserted != nil { return }
        let holder = try await db.select().column("scope").from("entity_claims").where("entity_type", .equal, key.type.rawValue)
            .where("entity_id", .equal, key.id).first()?.decode(column: "scope", as: String.self)
        guard holder == scope.rawValue else {
            throw MutationRejection(.idTaken, "The id '\(key.id)' is taken; choose another.", errors: [FieldProblem(pointer: "/id", detail: "taken")])
        }
    }
}

/// Every entity type the server's mutators may touch, with its persister. Capabilities contribute theirs in
/// `buildApplication`; the engine asks this registry and names no type itself.
struct SyncRegistry: Sendable {
    private var persisters: [EntityType: any EntityPersister] = [:]

    init(_ persisters: [any EntityPersister]) {
        for persister in persisters { self.persisters[persister.entityType] = persister }
    }

    func persister(for type: EntityType) throws -> any EntityPersister {
        guard let persister = persisters[type] else { throw SyncError.unregisteredEntityType(type) }
        return persister
    }

    var all: [any EntityPersister] { persisters.keys.sorted().map { persisters[$0]! } }
}

enum SyncError: Error {
    case unregisteredEntityType(EntityType)
    case clientRowMissing
}
