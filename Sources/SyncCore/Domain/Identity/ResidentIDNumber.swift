/// A mainland resident ID number (居民身份证号码, GB 11643): 6-digit area, 8-digit birth date, 3-digit sequence
/// (odd = male), and a check character over the first 17 digits (ISO 7064 MOD 11-2).
public struct ResidentIDNumber: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public enum Problem: Error, Equatable, Sendable {
        case length, characters, birthDate, checkCharacter
    }

    private static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    private static let checkCharacters: [Character] = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"]

    /// Validates `raw` (a lower-case `x` is accepted and normalised).
    public init(_ raw: String) throws(Problem) {
        let value = raw.uppercased()
        let characters = Array(value)
        guard characters.count == 18 else { throw .length }
        guard characters.prefix(17).allSatisfy({ $0.isASCII && $0.isNumber }), characters[17].isASCII,
            characters[17].isNumber || characters[17] == "X"
        else { throw .characters }
        let digits = characters.prefix(17).map { Int(String($0))! }
        guard Self.isRealDate(year: Self.number(digits[6..<10]), month: Self.number(digits[10..<12]), day: Self.number(digits[12..<14])) else {
            throw .birthDate
        }
        guard characters[17] == Self.checkCharacter(for: digits) else { throw .checkCharacter }
        self.rawValue = value
    }

    /// The check character for 17 digits.
    public static func checkCharacter(for digits: [Int]) -> Character {
        let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return checkCharacters[sum % 11]
    }

    /// Birth date as `YYYY-MM-DD`.
    public var birthDate: String {
        let c = Array(rawValue)
        return "\(String(c[6..<10]))-\(String(c[10..<12]))-\(String(c[12..<14]))"
    }

    /// 男 when the sequence number is odd.
    public var isMale: Bool { Int(String(Array(rawValue)[16]))! % 2 == 1 }

    /// The number with the middle hidden, e.g. `330106********123X`, for display.
    public var masked: String { String(rawValue.prefix(6)) + String(repeating: "*", count: 8) + String(rawValue.suffix(4)) }

    public var description: String { masked }

    private static func number(_ digits: ArraySlice<Int>) -> Int { digits.reduce(0) { $0 * 10 + $1 } }

    static func isRealDate(year: Int, month: Int, day: Int) -> Bool {
        guard (1900...2100).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }
}
