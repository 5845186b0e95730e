/// A unified social credit code (统一社会信用代码, GB 32100): 18 characters over `0-9A-Z` without I, O, S, V, Z;
/// the last is a check character over the first 17 (weights 3^i mod 31).
public struct CreditCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public enum Problem: Error, Equatable, Sendable {
        case length, characters, checkCharacter
    }

    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY")
    private static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    /// Validates `raw` (lower case is accepted and normalised).
    public init(_ raw: String) throws(Problem) {
        let value = raw.uppercased()
        let characters = Array(value)
        guard characters.count == 18 else { throw .length }
        let values = characters.compactMap { Self.alphabet.firstIndex(of: $0) }
        guard values.count == 18 else { throw .characters }
        guard Self.alphabet[Self.checkValue(for: Array(values.prefix(17)))] == characters[17] else { throw .checkCharacter }
        self.rawValue = value
    }

    /// The check value (an index into the alphabet) for the first 17 character values.
    public static func checkValue(for values: [Int]) -> Int {
        let sum = zip(values, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return (31 - sum % 31) % 31
    }

    public var description: String { rawValue }
}
