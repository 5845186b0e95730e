import Foundation
import SyncCore

/// Prints `value` as pretty, key-sorted JSON on stdout (what `--json` gives scripts).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// A line on stderr: notes and warnings that must not end up in a script's stdout.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Date and time formatting in China time, as the app shows them.
enum ChinaTime {
    private static let offset: Int64 = 8 * 3_600_000

    /// `YYYY-MM-DD HH:MM` for milliseconds since 1970.
    static func minute(_ millis: Int64) -> String {
        let local = millis + offset
        let minutes = ((local % 86_400_000) + 86_400_000) % 86_400_000 / 60_000
        return WorkingCalendar.day(fromMillis: millis) + String(format: " %02d:%02d", minutes / 60, minutes % 60)
    }

    /// Today's date (YYYY-MM-DD) in China.
    static var today: String { WorkingCalendar.day(fromMillis: nowMillis) }

    static var nowMillis: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

/// Trims `text` to `width` display columns with an ellipsis, for table cells.
func clip(_ text: String, _ width: Int) -> String {
    guard displayWidth(text) > width else { return text }
    var result = ""
    for character in text {
        if displayWidth(result + String(character)) > width - 1 { break }
        result.append(character)
    }
    return result + "…"
}
