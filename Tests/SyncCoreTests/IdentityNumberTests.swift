import SyncCore
import Testing

@Suite struct ResidentIDNumberTests {
    @Test func acceptsTheStandardsExampleAndNormalisesX() throws {
        let id = try ResidentIDNumber("11010519491231002x")
        #expect(id.rawValue == "11010519491231002X")
        #expect(id.birthDate == "1949-12-31")
        #expect(!id.isMale)
        #expect(id.masked == "110105********002X")
    }

    @Test func rejectsEachKindOfMistake() {
        #expect(throws: ResidentIDNumber.Problem.checkCharacter) { try ResidentIDNumber("110105194912310021") }
        #expect(throws: ResidentIDNumber.Problem.length) { try ResidentIDNumber("1101051949123100") }
        #expect(throws: ResidentIDNumber.Problem.characters) { try ResidentIDNumber("1101051949123100AX") }
        // 2023-02-29 does not exist; the check character is right for the digits, the date is not.
        let digits = Array("33010620230229001").map { Int(String($0))! }
        let bad = "33010620230229001" + String(ResidentIDNumber.checkCharacter(for: digits))
        #expect(throws: ResidentIDNumber.Problem.birthDate) { try ResidentIDNumber(bad) }
    }

    @Test(arguments: 0..<200)
    func anySingleDigitChangeIsCaught(seed: Int) throws {
        // A valid number built from the seed, then one digit changed: the check character must catch it.
        var generator = SeededGenerator(seed: UInt64(seed))
        let birth = "19\(10 + generator.next() % 90)0\(1 + generator.next() % 9)1\(generator.next() % 9)"
        let body = "330106" + birth + String(format3(Int(generator.next() % 1000)))
        let digits = body.map { Int(String($0))! }
        let valid = body + String(ResidentIDNumber.checkCharacter(for: digits))
        #expect((try? ResidentIDNumber(valid)) != nil, "\(valid)")
        let position = 14 + Int(generator.next() % 3)
        var changed = Array(valid)
        let old = Int(String(changed[position]))!
        changed[position] = Character(String((old + 1 + Int(generator.next() % 9)) % 10))
        #expect((try? ResidentIDNumber(String(changed))) == nil, "\(String(changed)) should fail its check")
    }
}

@Suite struct CreditCodeTests {
    @Test func acceptsTheStandardsExample() throws {
        #expect(try CreditCode("91350100m000100y43").rawValue == "91350100M000100Y43")
    }

    @Test func rejectsEachKindOfMistake() {
        #expect(throws: CreditCode.Problem.checkCharacter) { try CreditCode("91350100M000100Y44") }
        #expect(throws: CreditCode.Problem.length) { try CreditCode("91350100M000100Y4") }
        // I, O, S, V and Z are not in the alphabet.
        #expect(throws: CreditCode.Problem.characters) { try CreditCode("91350100M000100I43") }
    }

    @Test(arguments: 0..<200)
    func anySingleCharacterChangeIsCaught(seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
        let values = (0..<17).map { _ in Int(generator.next() % 31) }
        let valid = String(values.map { alphabet[$0] }) + String(alphabet[CreditCode.checkValue(for: values)])
        #expect((try? CreditCode(valid)) != nil)
        var changed = values
        let position = Int(generator.next() % 17)
        changed[position] = (changed[position] + 1 + Int(generator.next() % 30)) % 31
        let tampered = String(changed.map { alphabet[$0] }) + String(valid.last!)
        #expect((try? CreditCode(tampered)) == nil, "\(tampered) should fail its check")
    }
}

func format3(_ n: Int) -> String { String(repeating: "0", count: 3 - String(n).count) + String(n) }
