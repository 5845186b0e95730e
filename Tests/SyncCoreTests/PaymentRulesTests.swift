import Testing

@testable import SyncCore

@Suite struct PaymentRulesTests {
    @Test("A payment code is 20 digits whose check digit catches every wrong digit and every swap of neighbours")
    func paymentCodeCheckDigit() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<200 {
            let code = PaymentCode.make(year: 2026) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return state >> 11
            }
            #expect(code.count == 20 && code.hasPrefix("33010026"))
            #expect(PaymentCode.isValid(code))
            let digits = Array(code)
            for position in 0..<20 {
                for replacement in "0123456789" where replacement != digits[position] {
                    var wrong = digits
                    wrong[position] = replacement
                    #expect(!PaymentCode.isValid(String(wrong)), "one wrong digit at \(position)")
                }
                if position < 19, digits[position] != digits[position + 1] {
                    var swapped = digits
                    swapped.swapAt(position, position + 1)
                    #expect(!PaymentCode.isValid(String(swapped)), "neighbours swapped at \(position)")
                }
            }
        }
        for bad in ["", "1234", "3301002612345678901", "330100261234567890123", "33010026１２３４５６７８９０１", "3301002612345678901a"] {
            #expect(!PaymentCode.isValid(bad))
        }
    }

    @Test("加处罚款: 3% of the fine per day overdue, rounded down, never more than the fine")
    func lateFee() {
        #expect(LateFee.fen(fineFen: 20_000, dueOn: "2026-12-01", paidOn: "2026-12-01") == 0)
        #expect(LateFee.fen(fineFen: 20_000, dueOn: "2026-12-01", paidOn: "2026-11-20") == 0)
        #expect(LateFee.fen(fineFen: 20_000, dueOn: "2026-12-01", paidOn: "2026-12-02") == 600)
        #expect(LateFee.fen(fineFen: 20_000, dueOn: "2026-12-01", paidOn: "2026-12-11") == 6_000)
        #expect(LateFee.fen(fineFen: 15_050, dueOn: "2026-12-01", paidOn: "2026-12-02") == 451)  // 451.5 → 451
        #expect(LateFee.fen(fineFen: 20_000, dueOn: "2026-12-01", paidOn: "2027-01-03") == 19_800)  // 33 days: 99%
        #expect(LateFee.fen(fineFen: 20_000, dueOn: "2026-12-01", paidOn: "2027-01-04") == 20_000)  // 34 days: 102%, capped
        #expect(LateFee.fen(fineFen: 20_000, dueOn: "2026-11-01", paidOn: "2026-12-03") == 19_200)  // 32 days: 96%
        #expect(LateFee.fen(fineFen: 20_000, dueOn: "2026-01-01", paidOn: "2026-12-03") == 20_000)
        #expect(LateFee.fen(fineFen: Int.max, dueOn: "2026-12-01", paidOn: "2026-12-20") == Int.max)
        #expect(LateFee.fen(fineFen: 20_000, dueOn: "not a day", paidOn: "2026-12-20") == 0)
        #expect(LateFee.fen(fineFen: -5, dueOn: "2026-12-01", paidOn: "2026-12-20") == 0)
    }

    @Test("An order moves only along its declared transitions; refunded is final and paid never goes back to payable")
    func stateMachine() {
        #expect(PaymentOrderState.created.canMove(to: .paying))
        #expect(PaymentOrderState.paying.canMove(to: .paid))
        #expect(PaymentOrderState.failed.canMove(to: .paying))
        #expect(PaymentOrderState.closed.canMove(to: .needsReview))
        #expect(!PaymentOrderState.closed.canMove(to: .paid))
        #expect(!PaymentOrderState.created.canMove(to: .paid))
        #expect(!PaymentOrderState.needsReview.canMove(to: .paid))
        for state in PaymentOrderState.allCases {
            #expect(!PaymentOrderState.refunded.canMove(to: state))
            #expect(!PaymentOrderState.paid.canMove(to: state) || state == .refunding)
            #expect(PaymentOrderState.moves[state] != nil, "\(state) is in the table")
        }
    }
}
