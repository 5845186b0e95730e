import Foundation
import SyncCore
import Testing

@Suite struct CasesPropertyTests {
    typealias F = CaseFixtures

    static let codes: Set<String> = ["invalid_transition", "forbidden_action", "invalid_args", "missing_materials"]

    /// 400 seeded random lives of a case — clerks, applicants, strangers and the system acting in any order, with
    /// good and bad details, days passing, visits and supplements in between. Whatever happens, the state only ever
    /// changes through a move of `CaseMoves.all`, by an actor that move allows, and each change adds exactly one
    /// timeline event; refusals carry the right code and change nothing.
    @Test func randomActionSequencesOnlyMoveThroughTheTable() throws {
        var random = SeededGenerator(seed: 2026_10_01)
        var statesSeen: Set<CaseState> = []
        var movesSeen: Set<CaseMove> = []
        let matters = [F.transfer, F.inheritance, F.mortgage]
        let stranger = CaseActor(id: "acc_stranger", kind: .applicant)

        for sequence in 0..<400 {
            let matter = random.pick(matters)
            var caseFile = F.draft(matter, id: "caseFile\(sequence)")
            var now = F.at("2026-09-14", 8) + Int64(random.next(upTo: 20)) * 86_400_000
            for _ in 0..<40 {
                now += Int64(random.next(upTo: 40)) * 3_600_000
                let before = caseFile
                let roll = random.next(upTo: 100)
                if roll < 8 {
                    caseFile = (try? CaseWorkflow.recordVisit(on: before, by: random.pick([F.clerk, F.applicant]), at: now)) ?? before
                } else if roll < 18 {
                    caseFile = supplement(before, matter: matter, at: now, random: &random)
                } else {
                    // Half the time an action the table offers from here, so long lives happen; else any action.
                    let offered = CaseMoves.all.filter { $0.from == before.state }.map(\.action)
                    let action = random.next(upTo: 2) == 0 && !offered.isEmpty ? random.pick(offered) : random.pick(CaseAction.allCases)
                    let move = CaseMoves.move(from: before.state, action)
                    let actor: CaseActor
                    switch random.next(upTo: 10) {
                    case 0..<7 where move != nil: actor = Self.actor(random.pick(move!.actors.sorted { $0.rawValue < $1.rawValue }))
                    case 7: actor = stranger
                    default: actor = Self.actor(random.pick(CaseActorKind.allCases))
                    }
                    let note = random.next(upTo: 10) < 7 ? "理由 \(random.next(upTo: 100))" : nil
                    let details = randomDetails(matter: matter, now: now, random: &random)
                    let result = Result { () throws(MutationRejection) in
                        try CaseWorkflow.perform(action, on: before, by: actor, at: now, note: note, details: details, calendar: F.calendar2026)
                    }
                    switch result {
                    case .success(let moved):
                        caseFile = moved
                        let allowed = try #require(move, "\(before.state) → \(action) succeeded outside the table")
                        #expect(allowed.actors.contains(actor.kind) && moved.state == allowed.to)
                        movesSeen.insert(allowed)
                    case .failure(let rejection):
                        #expect(Self.codes.contains(rejection.code.rawValue), "unexpected code \(rejection.code)")
                        if move == nil { #expect(rejection.code.rawValue == "invalid_transition") }
                        if let move, !move.actors.contains(actor.kind) { #expect(rejection.code.rawValue == "forbidden_action") }
                    }
                }
                try check(before: before, after: caseFile)
                if caseFile.state != before.state, let move = CaseMoves.all.first(where: { $0.from == before.state && $0.to == caseFile.state }) {
                    movesSeen.insert(move)
                }
                statesSeen.insert(caseFile.state)
            }
        }
        #expect(statesSeen == Set(CaseState.allCases), "the generator reaches every state")
        #expect(Set(CaseMoves.all).subtracting(movesSeen).map { "\($0.from) → \($0.action)" } == [], "and makes every move")
    }

    static func actor(_ kind: CaseActorKind) -> CaseActor {
        switch kind {
        case .applicant: F.applicant
        case .clerk: F.clerk
        case .system: .system
        }
    }

    /// One step's effect obeys the table, the timeline and the case's bookkeeping.
    func check(before: Case, after: Case) throws {
        if after.state != before.state {
            let move = CaseMoves.all.first { $0.from == before.state && $0.to == after.state }
            #expect(move != nil, "\(before.state) → \(after.state) is not in the table")
            #expect(after.timeline.count == before.timeline.count + 1, "a move adds exactly one event")
            let event = try #require(after.timeline.last)
            #expect(event.from == before.state && event.to == after.state && event.action == move?.action.rawValue)
            #expect(move?.actors.contains(event.actorKind) == true)
        } else {
            #expect(after.timeline.count - before.timeline.count <= 1)
            if after.timeline.count > before.timeline.count { #expect(after.timeline.last?.to == nil, "an event that moves nothing says so") }
        }
        #expect(Array(after.timeline.prefix(before.timeline.count)) == before.timeline, "the timeline is append-only")

        // Bookkeeping that must hold in every state.
        #expect((after.suspendedSince != nil) == (after.state == .suspended))
        #expect((after.deadline != nil) == (after.acceptedAt != nil))
        if let deadline = after.deadline { #expect(F.calendar2026.isWorkingDay(deadline)) }
        #expect((after.decidedAt != nil) == [.approved, .denied, .delivered, .completed].contains(after.state))
        #expect(after.visits == after.timeline.filter { $0.action == "recordVisit" }.count)
        #expect(after.state != .correctionRequired || !after.correctionItems.isEmpty)
        var replayed = CaseState.draft
        for event in after.timeline {
            guard let to = event.to else { continue }
            #expect(event.from == replayed)
            replayed = to
        }
        #expect(replayed == after.state, "the timeline replays to the state")
    }

    /// The applicant supplements through `case.supplement`: sometimes all that is asked, sometimes only part.
    func supplement(_ caseFile: Case, matter: Matter, at now: Int64, random: inout SeededGenerator) -> Case {
        var asked = caseFile.state == .correctionRequired ? caseFile.correctionItems : caseFile.pendingMaterials
        if asked.isEmpty || random.next(upTo: 4) == 0 { asked = [random.pick(matter.materials.map(\.name) + ["身份证"])] }
        if asked.count > 1 && random.next(upTo: 3) == 0 { asked.removeLast() }
        var state = MutationState(entities: [EntityKey(.caseFile, caseFile.id): SyncJSON.encode(caseFile)])
        do {
            try CaseSupplement.apply(.init(caseId: caseFile.id, materials: F.files(asked)), to: &state, context: F.phone(now))
            guard let supplemented = try state.get(Case.self, id: caseFile.id) else { throw MutationRejection(.lost, "the case vanished") }
            return supplemented
        } catch let rejection as MutationRejection {
            #expect(Self.codes.contains(rejection.code.rawValue), "unexpected code \(rejection.code)")
            return caseFile
        } catch {
            Issue.record(error)
            return caseFile
        }
    }

    func randomDetails(matter: Matter, now: Int64, random: inout SeededGenerator) -> CaseActionDetails {
        let names = matter.materials.map(\.name) + ["补充说明"]
        func items() -> [String] {
            switch random.next(upTo: 6) {
            case 0: []
            case 1: ["   "]
            default: (0..<(1 + Int(random.next(upTo: 3)))).map { _ in random.pick(names) }
            }
        }
        let today = WorkingCalendar.day(fromMillis: now)
        let due: String? =
            switch random.next(upTo: 6) {
            case 0: nil
            case 1: "2026-02-30"
            default: WorkingCalendar.day(fromMillis: WorkingCalendar.startOfDayMillis(today)! + (Int64(random.next(upTo: 8)) - 1) * 86_400_000)
            }
        return CaseActionDetails(
            correctionItems: items(), pendingMaterials: items(), pendingDue: due,
            deliveryMethod: random.next(upTo: 5) == 0 ? nil : random.pick(DeliveryMethod.allCases),
            trackingNumber: random.next(upTo: 2) == 0 ? nil : "EMS\(random.next(upTo: 1_000_000))"
        )
    }
}
