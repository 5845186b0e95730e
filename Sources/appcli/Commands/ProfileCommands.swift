import ArgumentParser
import Foundation
import SyncCore

/// `appcli profile show|set`: the account's contact profile, edited offline and merged per field across devices.
struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile", abstract: "Show or edit the account's profile (nickname, contact; works offline).",
        subcommands: [Show.self, Edit.self],
        defaultSubcommand: Show.self)

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the profile as this device sees it.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await withSession(global) { session in
                let account = try session.requireAccount()
                guard let profile = try session.replica.profile(accountID: account.id) else {
                    throw CLIError.usage("the profile is not on this device yet: run `appcli sync`")
                }
                if global.json { return try printJSON(profile) }
                var table = Table(["", ""])
                table.append(["姓名", profile.name])
                table.append(["昵称", profile.nickname ?? "—"])
                table.append(["邮箱", profile.email ?? "—"])
                table.append(["邮寄地址", profile.address ?? "—"])
                table.append(["联系电话", profile.contactPhone ?? "—"])
                table.append(["语言", profile.language])
                table.append(["短信通知", profile.notifySMS ? "开" : "关"])
                print(table.render().split(separator: "\n").dropFirst().joined(separator: "\n"))
            }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Change profile fields (the later edit of a field wins on every device).")
        @OptionGroup var global: GlobalOptions
        @Option var nickname: String?
        @Option var email: String?
        @Option(help: "Postal address for express delivery (快递送达).") var address: String?
        @Option var contactPhone: String?
        @Option(help: "zh-CN or en.") var language: String?
        @Option(help: "true or false.") var notifySms: Bool?

        func run() async throws {
            let changes = ProfileUpdate.ProfileChanges(
                nickname: nickname, email: email, address: address, contactPhone: contactPhone, language: language, notifySMS: notifySms)
            guard changes != ProfileUpdate.ProfileChanges() else { throw CLIError.usage("give at least one field to change") }
            try await withSession(global) { session in
                let account = try session.requireAccount()
                let committed = try await commit(session, [(ProfileUpdate.name, ProfileUpdate.Args(changes: changes))])
                let profile = try session.replica.profile(accountID: account.id)
                if global.json { return try printJSON(profile) }
                print(committed.synced ? "profile updated" : "profile updated on this device; queued in the outbox (offline)")
            }
        }
    }
}

/// `appcli messages`: progress messages about my cases (and `--read ID` to mark one read on every device).
struct MessagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "messages", abstract: "List my messages, newest first (works offline).")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Mark this message read.") var read: String?
    @Option(help: "Most messages to list.") var limit: Int = 20

    func run() async throws {
        try await withSession(global) { session in
            _ = try session.requireAccount()
            if let read { _ = try await commit(session, [(MessageMarkRead.name, MessageMarkRead.Args(messageId: read))]) }
            let messages = Array(try session.replica.messages().prefix(limit))
            if global.json { return try printJSON(messages) }
            guard !messages.isEmpty else { return print("no messages") }
            var table = Table(["", "时间", "标题", "内容", "编号"])
            for message in messages {
                table.append([
                    message.readAt == nil ? "●" : "", ChinaTime.minute(message.createdAt), message.title, clip(message.body, 50), message.id,
                ])
            }
            print(table.render())
        }
    }
}
