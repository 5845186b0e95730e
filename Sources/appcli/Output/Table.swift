/// Terminal tables that stay aligned with Chinese text: a CJK character takes two columns.
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: [String]) { self.headers = headers }

    mutating func append(_ row: [String]) { rows.append(row) }

    /// The table as lines, columns separated by two spaces and padded by display width.
    func render() -> String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { displayWidth($0[safe: column] ?? "") }.max() ?? 0 }
        return all.map { row in
            headers.indices.map { column in
                let cell = row[safe: column] ?? ""
                return column == headers.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - displayWidth(cell))
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Columns a string occupies in a terminal: East Asian wide and fullwidth characters count two.
func displayWidth(_ text: String) -> Int {
    text.unicodeScalars.reduce(0) { width, scalar in
        if scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .enclosingMark { return width }
        return width + (isWide(scalar) ? 2 : 1)
    }
}

private func isWide(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xAC00...0xD7A3,
        0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
        return true
    default:
        return false
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
