import Testing

@testable import appcli

@Suite struct TableTests {
    @Test func chineseCharactersTakeTwoColumns() {
        #expect(displayWidth("abc") == 3)
        #expect(displayWidth("营业执照") == 8)
        #expect(displayWidth("A类（甲）") == 9)
    }

    @Test func columnsLineUpWithMixedScripts() {
        var table = Table(["编码", "事项", "次数"])
        table.append(["RE-1", "二手房转移登记", "0"])
        table.append(["BIZ-22", "营业执照变更", "1"])
        let lines = table.render().split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        // The third column starts at the same display column on every line.
        let lastCells = ["次数", "0", "1"]
        let starts = zip(lines, lastCells).map { line, cell in displayWidth(line) - displayWidth(cell) }
        #expect(Set(starts).count == 1, "\(lines)")
    }
}
