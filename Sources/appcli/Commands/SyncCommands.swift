import ArgumentParser
import Foundation
import SyncCore

/// `appcli sync`: push the outbox and pull until up to date — once, or `--watch`ing the server's pokes.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Send queued changes and fetch what changed (once, or --watch).",
        discussion: "Exits 1 when the server rejected a queued change (see `appcli outbox`)."
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Keep syncing whenever the server pokes (server-sent events); poll if the stream drops.") var watch = false
    @Option(name: .customLong("for"), help: "With --watch: stop after this many seconds (default: until Ctrl-C).") var seconds: Double?
    @Option(help: "With --watch: seconds between polls while the event stream is down.") var poll: Double = 10

    func validate() throws {
        if seconds != nil && !watch { throw ValidationError("--for needs --watch") }
        guard poll >= 0.5 else { throw ValidationError("--poll must be at least 0.5 seconds") }
    }

    func run() async throws {
        try await withSession(global) { session in
            _ = try session.requireAccount()
            try session.requireOnline("sync")
            if watch {
                let watcher = SyncWatcher(session: session, pollInterval: .milliseconds(Int(poll * 1000)), json: global.json)
                let summary = try await watcher.run(for: seconds.map { .milliseconds(Int($0 * 1000)) })
                if global.json { return try printJSON(summary) }
                return print(
                    "watched for \(String(format: "%.0f", summary.seconds)) s: \(summary.syncs) sync(s), \(summary.pokes) poke(s), \(summary.entities) change(s)"
                )
            }
            let replica = try session.replica
            let rejectedBefore = Set(try replica.outbox().filter { $0.status == .rejected }.map(\.id))
            let interactive = isatty(STDERR_FILENO) != 0 && !global.json
            let report = try await session.sync { progress in
                if interactive && progress.hasMore { FileHandle.standardError.write(Data("\r  \(progress.entities) changes…".utf8)) }
            }
            if interactive && report.pages > 1 { FileHandle.standardError.write(Data("\r".utf8)) }
            let newlyRejected = try replica.outbox().filter { $0.status == .rejected && !rejectedBefore.contains($0.id) }
            if global.json {
                try printJSON(SyncReportView(report, rejected: newlyRejected.map(OutboxView.init)))
            } else {
                print(
                    "pushed \(report.pushed) (applied \(report.applied), rejected \(newlyRejected.count)); pulled \(report.entities) change(s) in \(report.pages) page(s)"
                )
                for entry in newlyRejected { print("  rejected #\(entry.id) \(entry.name): \(entry.detail ?? "") [\(entry.code ?? "rejected")]") }
            }
            if !newlyRejected.isEmpty { throw ExitCode(ExitStatus.refused) }
        }
    }
}

/// `appcli offline on|off`: the profile stops (or resumes) talking to the server; changes queue in the outbox.
struct OfflineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "offline", abstract: "Switch offline mode on or off (off sends queued changes).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "on or off (omit to show the current mode).") var mode: String?
    @Flag(help: "With off: do not sync right away.") var noSync = false

    func validate() throws {
        if let mode, mode != "on" && mode != "off" { throw ValidationError("MODE must be on or off") }
    }

    func run() async throws {
        try await withSession(global) { session in
            guard let mode else {
                if global.json { return try printJSON(["offline": session.isOffline]) }
                return print(session.isOffline ? "offline" : "online")
            }
            try session.updateProfile { $0.offline = mode == "on" }
            var report: SyncReport?
            if mode == "off" && !noSync && session.profile.account != nil {
                report = try await session.sync()
            }
            if global.json { return try printJSON(OfflineView(offline: session.isOffline, sync: report.map { SyncReportView($0, rejected: []) })) }
            if mode == "on" {
                print("offline: changes are queued in the outbox until `appcli offline off`")
            } else {
                print("online" + (report.map { ": sent \($0.pushed) queued change(s), pulled \($0.entities)" } ?? ""))
            }
        }
    }

    private struct OfflineView: Encodable {
        var offline: Bool
        var sync: SyncReportView?
    }
}

/// `appcli outbox`: changes waiting for the server, and those it rejected with the reason.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "outbox", abstract: "List queued changes and rejected ones with their reasons.")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Forget rejected changes the server has answered (after reading them).") var dismiss = false

    func run() async throws {
        try await withSession(global) { session in
            _ = try session.requireAccount()
            let replica = try session.replica
            if dismiss { try replica.dismissRejected() }
            let entries = try replica.outbox().map(OutboxView.init)
            if global.json { return try printJSON(entries) }
            guard !entries.isEmpty else { return print("the outbox is empty: everything reached the server") }
            var table = Table(["#", "操作", "对象", "状态", "时间", "原因"])
            for entry in entries {
                let status = entry.status == "pending" ? (entry.acknowledged ? "已送达" : "待发送") : "被拒绝"
                table.append([
                    "\(entry.id)", entry.name, entry.subjects.joined(separator: " "), status, ChinaTime.minute(entry.createdAt),
                    entry.code.map { "\(entry.detail ?? "") [\($0)]" } ?? "",
                ])
            }
            print(table.render())
        }
    }
}

/// One outbox entry as printed.
struct OutboxView: Encodable {
    var id: Int
    var name: String
    var status: String
    var code: String?
    var detail: String?
    var createdAt: Int64
    /// The entities the change wrote, as `type/id`.
    var subjects: [String]
    /// The server has answered it.
    var acknowledged: Bool
    var args: String

    init(_ entry: OutboxEntry) {
        id = entry.id
        name = entry.name
        status = entry.status.rawValue
        code = entry.code
        detail = entry.detail
        createdAt = entry.createdAt
        subjects = entry.writtenKeys.map(\.description)
        acknowledged = entry.acknowledged
        args = String(decoding: entry.args, as: UTF8.self)
    }
}

/// A sync report as printed with `--json`.
struct SyncReportView: Encodable {
    var pushed: Int
    var applied: Int
    var rejected: [OutboxView]
    var pages: Int
    var entities: Int
    var retries: Int
    var resetScopes: [String]

    init(_ report: SyncReport, rejected: [OutboxView]) {
        pushed = report.pushed
        applied = report.applied
        self.rejected = rejected
        pages = report.pages
        entities = report.entities
        retries = report.retries
        resetScopes = report.resetScopes.map(\.rawValue)
    }
}
