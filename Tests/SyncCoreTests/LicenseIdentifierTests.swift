import SyncCore
import Testing

/// GB/T 36904 e-license identifiers and their ISO 7064 MOD 37,36 check character.
struct LicenseIdentifierTests {
    /// A business licence identifier as issued in Zhejiang (type 11100000000013338W009, issuer 11330105002500287C).
    static let zhejiang = "11100000000013338W009.11330105002500287C.2025052201.002.0"

    @Test func aRealIdentifierValidatesAndSplitsIntoItsParts() throws {
        let identifier = try LicenseIdentifier(Self.zhejiang)
        #expect(identifier.typeCode == "11100000000013338W009")
        #expect(identifier.issuer == "11330105002500287C")
        #expect(identifier.serial == "2025052201")
        #expect(identifier.version == "002")
        #expect(identifier.oid == "1.2.156.3005.2." + Self.zhejiang)
        #expect(try LicenseIdentifier(identifier.oid) == identifier, "the OID form is the same identifier")
        #expect(try LicenseIdentifier(Self.zhejiang.lowercased()).rawValue == Self.zhejiang)
    }

    @Test func buildingComputesTheCheckCharacterTheRealIdentifierCarries() throws {
        let built = try LicenseIdentifier(typeCode: "11100000000013338W009", issuer: "11330105002500287C", serial: "2025052201", version: 2)
        #expect(built.rawValue == Self.zhejiang)
        #expect(LicenseIdentifier.checkCharacter(for: "11100000000013338W00911330105002500287C2025052201002") == "0")
    }

    @Test func everyOtherCheckCharacterIsRefused() throws {
        for character in "123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" {
            #expect(throws: LicenseIdentifier.Problem.checkCharacter) { try LicenseIdentifier(String(Self.zhejiang.dropLast()) + String(character)) }
        }
    }

    @Test func oneChangedCharacterAnywhereIsCaught() throws {
        // MOD 37,36 detects every single substitution: change each position of the serial and version.
        let characters = Array(Self.zhejiang)
        for index in 40..<54 where characters[index] != "." {
            var changed = characters
            changed[index] = characters[index] == "1" ? "2" : "1"
            #expect(throws: LicenseIdentifier.Problem.checkCharacter) { try LicenseIdentifier(String(changed)) }
        }
    }

    @Test func malformedIdentifiersAreRefusedWithTheirReason() {
        let cases: [(String, LicenseIdentifier.Problem)] = [
            ("", .shape),
            ("11100000000013338W009.11330105002500287C.2025052201.002", .shape),
            ("11100000000013338W009..11330105002500287C.2025052201.002.0", .shape),
            ("11100000000013338W09.11330105002500287C.2025052201.002.0", .shape),
            ("11100000000013338W009.11330105002500287C.\(String(repeating: "1", count: 41)).002.0", .shape),
            (String(repeating: "1", count: 10_000), .shape),
            ("11100000000013338W009.11330105002500287C.2025-05-22.002.0", .characters),
            ("11100000000013338W009.11330105002500287C.２０２５.002.0", .characters),
            ("11100000000013338W009.11330105002500287C.2025052201.0A2.0", .characters),
            ("11100000000013338WABC.11330105002500287C.2025052201.002.0", .characters),
            ("11100000000013338W009.11330105002500287D.2025052201.002.0", .creditCode),
            ("11100000000013338X009.11330105002500287C.2025052201.002.0", .creditCode),
        ]
        for (raw, problem) in cases {
            #expect(throws: problem, "\(raw.prefix(80))") { try LicenseIdentifier(raw) }
        }
    }
}
