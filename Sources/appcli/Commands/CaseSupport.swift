import ArgumentParser
import Foundation
import OneTripAPI
import OpenAPIRuntime
import SyncCore

/// How materials are handed in, shared by `apply`, `submit` and `supplement`.
struct MaterialOptions: ParsableArguments {
    @Option(name: .customLong("material"), help: "NAME=FILE: upload a JPEG, PNG or PDF as material NAME (needs the server).")
    var files: [String] = []
    @Option(name: .customLong("paper"), help: "NAME: hand material NAME in on paper at the window.")
    var paper: [String] = []
    @Option(name: .customLong("license"), help: "NAME=TYPE:ID: use an e-license in place of material NAME.")
    var licenses: [String] = []
    @Flag(help: "Hand in on paper every required material not given otherwise.")
    var restOnPaper = false

    var isEmpty: Bool { files.isEmpty && paper.isEmpty && licenses.isEmpty && !restOnPaper }

    /// The materials as submitted, uploading files first. `known` are the names the matter lists (others are refused),
    /// `required` the names `--rest-on-paper` covers. Files need the server: offline they are refused (exit 2),
    /// because a case must never reference a file the server has not got.
    func resolve(known: [String], required: [String], session: Session) async throws -> [SubmittedMaterial] {
        var materials: [String: SubmittedMaterial] = [:]
        func add(_ material: SubmittedMaterial) throws {
            guard known.isEmpty || known.contains(material.name) else {
                throw CLIError.usage("'\(material.name)' is not a material of this matter; it lists: \(known.joined(separator: "、"))")
            }
            guard materials[material.name] == nil else { throw CLIError.usage("material '\(material.name)' is given twice") }
            materials[material.name] = material
        }
        for name in paper { try add(SubmittedMaterial(name: name, paper: true)) }
        for spec in licenses {
            let (name, value) = try split(spec, "--license NAME=TYPE:ID")
            guard let colon = value.firstIndex(of: ":"), colon != value.startIndex, value.index(after: colon) != value.endIndex else {
                throw CLIError.usage("--license \(spec): expected NAME=TYPE:ID")
            }
            try add(SubmittedMaterial(name: name, eLicenseType: String(value[..<colon]), eLicenseId: String(value[value.index(after: colon)...])))
        }
        if !files.isEmpty && session.isOffline {
            throw CLIError.usage(
                "material files are uploaded to the server, and this profile is offline: go online, or hand them in with --paper NAME")
        }
        for spec in files {
            let (name, path) = try split(spec, "--material NAME=FILE")
            guard known.isEmpty || known.contains(name) else {
                throw CLIError.usage("'\(name)' is not a material of this matter; it lists: \(known.joined(separator: "、"))")
            }
            try add(SubmittedMaterial(name: name, blobSha256: try await upload(path, session: session)))
        }
        if restOnPaper {
            for name in required where materials[name] == nil { materials[name] = SubmittedMaterial(name: name, paper: true) }
        }
        return materials.values.sorted { $0.name < $1.name }
    }

    private func split(_ spec: String, _ form: String) throws -> (String, String) {
        guard let equals = spec.firstIndex(of: "="), equals != spec.startIndex else { throw CLIError.usage("\(spec): expected \(form)") }
        return (String(spec[..<equals]), String(spec[spec.index(after: equals)...]))
    }

    /// `POST /v1/blobs`: the file's SHA-256 once the server holds it. The type comes from the file's first bytes.
    private func upload(_ path: String, session: Session) async throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError.local("cannot read \(path)") }
        let body = HTTPBody(data)
        let input: Operations.UploadBlob.Input.Body
        if data.starts(with: [0xFF, 0xD8, 0xFF]) {
            input = .jpeg(body)
        } else if data.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            input = .png(body)
        } else if data.starts(with: Array("%PDF".utf8)) {
            input = .pdf(body)
        } else {
            throw CLIError.usage("\(path) is not a JPEG, PNG or PDF file")
        }
        let output = try await session.client.uploadBlob(body: input)
        guard case .created(let created) = output else { throw CLIError.from(output) }
        return try created.body.json.sha256
    }
}

/// `--field key=value` pairs as a form.
func parseFields(_ specs: [String]) throws -> [String: String] {
    var fields: [String: String] = [:]
    for spec in specs {
        guard let equals = spec.firstIndex(of: "="), equals != spec.startIndex else { throw CLIError.usage("--field \(spec): expected KEY=VALUE") }
        fields[String(spec[..<equals])] = String(spec[spec.index(after: equals)...])
    }
    return fields
}

/// A change made on the replica and, when online, confirmed by the server.
struct CommittedChange {
    /// The outbox ids of the mutations.
    var ids: [Int]
    /// Whether a sync ran (false: offline, queued).
    var synced: Bool
}

/// Runs mutators optimistically on the replica (a local rejection throws at once and queues nothing more), then syncs
/// when online. A server rejection of any of them throws `rejected`; an unreachable server leaves them queued and
/// throws `unreachable` (exit 4) after saying so.
func commit(_ session: Session, _ changes: [(name: String, args: any Encodable)]) async throws -> CommittedChange {
    let account = try session.requireAccount()
    let replica = try session.replica
    var ids: [Int] = []
    for change in changes {
        ids.append(try replica.mutate(change.name, args: change.args, accountID: account.id, role: account.role).id)
    }
    if session.isOffline { return CommittedChange(ids: ids, synced: false) }
    do {
        try await session.sync()
    } catch {
        if let failure = CLIError.wrap(error), case .unreachable = failure {
            note("note: the change is queued in the outbox; it is sent by the next `appcli sync`")
        }
        throw error
    }
    let rejected = try replica.outbox().filter { ids.contains($0.id) && $0.status == .rejected }
    if let first = rejected.first {
        throw CLIError.rejected(code: first.code ?? "rejected", detail: rejected.map { $0.detail ?? $0.code ?? "rejected" }.joined(separator: "; "))
    }
    return CommittedChange(ids: ids, synced: true)
}

/// The visible case whose id is `reference` or uniquely starts (with or without `case_`) or ends with it.
func findCase(_ reference: String, in replica: Replica) throws -> Case {
    if let exact = try replica.entity(Case.self, id: reference) { return exact }
    let matches = try replica.entities(Case.self).filter {
        $0.id.hasPrefix(reference) || $0.id.hasPrefix("case_" + reference) || $0.id.hasSuffix(reference)
    }
    switch matches.count {
    case 1: return matches[0]
    case 0: throw CLIError.rejected(code: "not_found", detail: "no case '\(reference)' on this device (run `appcli sync`, then `appcli cases`)")
    default: throw CLIError.usage("'\(reference)' matches \(matches.count) cases: \(matches.map(\.id).joined(separator: ", "))")
    }
}

/// Ids of cases with changes still waiting in the outbox (shown as not yet synced).
func unsyncedCaseIDs(_ replica: Replica) throws -> Set<String> {
    Set(try replica.outbox().filter { $0.status == .pending }.flatMap(\.writtenKeys).filter { $0.type == .caseFile }.map(\.id))
}

/// A new id in the server's format (`case_` or `bun_` and 20 hex digits), made on the device so offline works.
func newID(_ prefix: String) -> String {
    prefix + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
}

extension Case {
    /// A case as the REST routes return it, in SyncCore's shape (the same JSON).
    init(_ remote: Components.Schemas.Case) throws {
        self = try SyncJSON.decoder.decode(Case.self, from: try JSONEncoder().encode(remote))
    }

    /// When anything last happened to the case.
    var lastActivity: Int64 { timeline.last?.at ?? submittedAt ?? 0 }
}
