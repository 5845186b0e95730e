import Foundation
import SyncCore

/// What every simulated citizen shares: the clock, the catalog they apply from and the statistics.
struct SwarmWorld: Sendable {
    let stats: SwarmStats
    let deadline: ContinuousClock.Instant
    /// Mean pause between a user's actions (uniform in 0…2×).
    let think: Duration
    /// Share of the phones offline at a time (their changes queue, then sync on reconnect).
    let offlineRatio: Double
    /// How many phones there are.
    let phones: Int
    /// Matters whose department has a simulated clerk, so cases move on.
    let matters: [Matter]
    let bundles: [MatterBundle]
    let keywords: [String]

    var isOver: Bool { ContinuousClock.now >= deadline }

    /// Sleeps a user's pause, never past the deadline.
    func pause(_ mean: Duration? = nil) async {
        let mean = mean ?? think
        let millis = Int(Double(mean.components.seconds * 1000 + mean.components.attoseconds / 1_000_000_000_000_000) * Double.random(in: 0...2))
        let until = min(ContinuousClock.now + .milliseconds(millis), deadline)
        try? await Task.sleep(until: until, clock: .continuous)
    }
}

/// A citizen's day with the app, repeated until the deadline: browse the catalog, apply (sometimes for a 一件事),
/// check progress, hand in corrections, withdraw, rate finished cases, edit the profile; now and then go offline
/// and keep working, then come back and sync; with two devices, edit the same draft and profile on both while offline.
struct CitizenJourney: Sendable {
    let citizen: SwarmCitizen
    let world: SwarmWorld

    func run() async {
        while !world.isOver {
            let roll = Double.random(in: 0..<1)
            // Go offline with probability R while fewer than R·N phones are: about R of the phones are offline at a time.
            let offlineRoom = Double(stats.counters.offlineNow) < world.offlineRatio * Double(world.phones)
            if citizen.devices.count == 2 && roll < 0.12 {
                await attempt { try await twoDevices() }
            } else if offlineRoom && Double.random(in: 0..<1) < world.offlineRatio {
                await attempt { try await offlineEpisode(citizen.devices.randomElement()!) }
            } else {
                await attempt { try await onlineStep(citizen.devices.randomElement()!) }
            }
            await world.pause()
        }
        for device in citizen.devices { device.offline.withLock { $0 = false } }
    }

    /// Failures are recorded by `SwarmStats` where they happen; the user simply carries on.
    private func attempt(_ body: () async throws -> Void) async {
        do { try await body() } catch {}
    }

    private var stats: SwarmStats { world.stats }

    // MARK: Online

    private func onlineStep(_ phone: SwarmPhone) async throws {
        let cases = try phone.cases()
        if let needing = cases.first(where: { $0.state == .correctionRequired || ($0.state == .acceptedPending && !$0.pendingMaterials.isEmpty) }),
            Bool.random()
        {
            return try await supplement(needing, on: phone)
        }
        if let done = cases.first(where: { $0.state == .completed && $0.rating == nil }), Bool.random() {
            return try await rate(done, on: phone)
        }
        switch Double.random(in: 0..<1) {
        case ..<0.25: try await browse(phone)
        case ..<0.50: try await apply(on: phone, openCases: cases.filter { !$0.state.isFinal }.count)
        case ..<0.65: try await refresh(phone)
        case ..<0.75: try await track(cases, on: phone)
        case ..<0.85: try await withdraw(cases, on: phone)
        default: try await editProfile(phone)
        }
    }

    /// Pulls what changed (the app's pull-to-refresh); nothing while offline.
    private func refresh(_ phone: SwarmPhone) async throws {
        if !phone.isOffline { try await phone.sync("sync", stats: stats) }
    }

    private func browse(_ phone: SwarmPhone) async throws {
        let keyword = world.keywords.randomElement()!
        try await stats.measure("browse (replica)") { _ = try phone.replica.searchMatters(keyword, limit: 20) }
        if Double.random(in: 0..<1) < 0.3 && !phone.isOffline {
            try await stats.measure("catalog search (REST)") {
                let output = try await phone.connection.client.listMatters(query: .init(q: keyword, limit: 20))
                guard case .ok = output else { throw CLIError.from(output) }
            }
        }
        if let matter = try phone.replica.searchMatters(keyword, limit: 20).randomElement() {
            try await stats.measure("matter detail (replica)") { _ = try phone.replica.entity(Matter.self, id: matter.code) }
        }
    }

    /// Applies for a random matter (one in ten: a bundle), every required material on paper; a few stay drafts.
    private func apply(on phone: SwarmPhone, openCases: Int) async throws {
        guard openCases < 8 else { return try await refresh(phone) }
        var changes: [(name: String, args: any Encodable)] = []
        let matters: [Matter]
        var bundleID: String?
        if Double.random(in: 0..<1) < 0.1, let bundle = world.bundles.randomElement() {
            matters = try bundle.matterCodes.compactMap { try phone.replica.entity(Matter.self, id: $0) }
            bundleID = newID("bun_")
        } else {
            matters = [world.matters.randomElement()!]
        }
        let keepDraft = Double.random(in: 0..<1) < 0.1
        for matter in matters {
            let id = newID("case_")
            changes.append((CaseSaveDraft.name, CaseSaveDraft.Args(caseId: id, matter: matter, bundleSubmissionId: bundleID, fields: form())))
            if !keepDraft { changes.append((CaseSubmit.name, submitArgs(id, matter))) }
        }
        try await phone.change(bundleID == nil ? "apply" : "apply bundle", changes, stats: stats)
        stats.count { $0.casesCreated += matters.count }
    }

    private func track(_ cases: [Case], on phone: SwarmPhone) async throws {
        guard let item = cases.randomElement() else { return try await browse(phone) }
        try await stats.measure("track (replica)") {
            guard let found = try phone.replica.entity(Case.self, id: item.id) else { throw CLIError.rejected(code: "not_found", detail: item.id) }
            _ = CaseTrackView(found, today: ChinaTime.today, unsynced: false).render()
        }
    }

    private func withdraw(_ cases: [Case], on phone: SwarmPhone) async throws {
        let open = cases.filter { [.draft, .submitted, .accepted, .correctionRequired, .underReview].contains($0.state) }
        guard let item = open.randomElement() else { return try await refresh(phone) }
        try await phone.change("withdraw", [(CaseWithdraw.name, CaseWithdraw.Args(caseId: item.id, reason: "不需要了"))], stats: stats)
    }

    private func supplement(_ item: Case, on phone: SwarmPhone) async throws {
        let items = item.state == .correctionRequired ? item.correctionItems : item.pendingMaterials
        let materials = items.map { SubmittedMaterial(name: $0, paper: true) }
        try await phone.change("supplement", [(CaseSupplement.name, CaseSupplement.Args(caseId: item.id, materials: materials))], stats: stats)
    }

    private func rate(_ item: Case, on phone: SwarmPhone) async throws {
        let level = [5, 5, 5, 4, 4, 3, 2, 1].randomElement()!
        try await phone.change(
            "rate", [(CaseRate.name, CaseRate.Args(caseId: item.id, level: level, comment: level <= 2 ? "等了太久" : "很方便"))], stats: stats)
    }

    private func editProfile(_ phone: SwarmPhone) async throws {
        let changes = ProfileUpdate.ProfileChanges(nickname: "用户\(Int.random(in: 100...999))", address: "杭州市西湖区文三路\(Int.random(in: 1...999))号")
        try await phone.change("profile.update", [(ProfileUpdate.name, ProfileUpdate.Args(changes: changes))], stats: stats)
    }

    // MARK: Offline

    /// The phone loses its connection, keeps working (apply, edit a draft, withdraw, profile), then comes back and syncs.
    private func offlineEpisode(_ phone: SwarmPhone) async throws {
        phone.offline.withLock { $0 = true }
        stats.count {
            $0.offlineEpisodes += 1
            $0.offlineNow += 1
        }
        defer {
            phone.offline.withLock { $0 = false }
            stats.count { $0.offlineNow -= 1 }
        }
        for _ in 0..<Int.random(in: 2...4) where !world.isOver {
            let cases = try phone.cases()
            switch Int.random(in: 0..<4) {
            case 0: try await apply(on: phone, openCases: cases.filter { !$0.state.isFinal }.count)
            case 1:
                if let draft = cases.first(where: { $0.state == .draft }) {
                    try await phone.change("edit draft", [(CaseSaveDraft.name, editArgs(draft, fields: form()))], stats: stats)
                } else {
                    try await apply(on: phone, openCases: 0)
                }
            case 2: try await withdraw(cases, on: phone)
            default: try await editProfile(phone)
            }
            await world.pause(world.think / 2)
        }
        await world.pause(.seconds(2))
        phone.offline.withLock { $0 = false }
        try await phone.sync("reconnect sync", stats: stats)
    }

    /// Both devices of the citizen edit the same draft field and the nickname while offline; after both sync, both
    /// must show the later edit (per-field last-writer-wins by HLC).
    private func twoDevices() async throws {
        let (first, second) = (citizen.devices[0], citizen.devices[1])
        let matter = world.matters.randomElement()!
        let id = newID("case_")
        try await first.change("apply (draft)", [(CaseSaveDraft.name, CaseSaveDraft.Args(caseId: id, matter: matter, fields: form()))], stats: stats)
        try await second.sync("sync", stats: stats)
        guard let shared = try second.replica.entity(Case.self, id: id) else { throw CLIError.rejected(code: "draft_not_synced", detail: id) }
        for device in [first, second] { device.offline.withLock { $0 = true } }
        stats.count { $0.offlineNow += 2 }
        defer {
            for device in [first, second] { device.offline.withLock { $0 = false } }
            stats.count { $0.offlineNow -= 2 }
        }
        var stamps: [(hlc: HLC, address: String, nickname: String)] = []
        for device in [first, second] {
            let address = "\(device.label) 西湖区\(Int.random(in: 1...999))号"
            let nickname = String(device.label.suffix(6)) + "\(Int.random(in: 10...99))"
            let edit = try device.replica.mutate(
                CaseSaveDraft.name, args: editArgs(shared, fields: ["联系地址": address]), accountID: device.accountID, role: device.role)
            _ = try device.replica.mutate(
                ProfileUpdate.name, args: ProfileUpdate.Args(changes: .init(nickname: nickname)), accountID: device.accountID, role: device.role)
            stamps.append((edit.hlc, address, nickname))
            try await Task.sleep(for: .milliseconds(Int.random(in: 5...50)))
        }
        stats.count { $0.queuedOffline += 4 }
        let order = Bool.random() ? [first, second] : [second, first]
        for device in order {
            device.offline.withLock { $0 = false }
            try await device.sync("reconnect sync", stats: stats)
        }
        try await order[0].sync("sync", stats: stats)
        let later = stamps.max { $0.hlc < $1.hlc }!
        let agreed = try [first, second].allSatisfy { device in
            try device.replica.entity(Case.self, id: id)?.form["联系地址"] == later.address
                && device.replica.profile(accountID: device.accountID)?.nickname == later.nickname
        }
        stats.count {
            $0.twoDeviceEdits += 1
            if agreed { $0.twoDeviceConverged += 1 }
        }
        if !agreed { stats.fail("two-device edit", code: "lww_mismatch") }
        try await first.change("submit draft", [(CaseSubmit.name, submitArgs(id, matter))], stats: stats)
    }

    // MARK: Arguments

    private func form() -> [String: String] {
        ["联系电话": "13" + String(format: "%09d", Int.random(in: 0..<1_000_000_000)), "事由": ["办理", "变更", "补领", "申请"].randomElement()!]
    }

    private func submitArgs(_ id: String, _ matter: Matter) -> CaseSubmit.Args {
        let required = matter.materials.filter(\.required).map(\.name)
        return CaseSubmit.Args(caseId: id, materials: required.map { SubmittedMaterial(name: $0, paper: true) })
    }

    private func editArgs(_ draft: Case, fields: [String: String]) -> CaseSaveDraft.Args {
        CaseSaveDraft.Args(caseId: draft.id, matterCode: draft.matterCode, bundleSubmissionId: draft.bundleSubmissionId, fields: fields)
    }
}
