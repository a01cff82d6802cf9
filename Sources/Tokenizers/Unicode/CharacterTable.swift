/// Per-code-point classes and mappings the tokenizers need, exactly as the reference classifies
/// them (built from `ReferenceTables`, which tools/make_unicode_tables.py reads off Hugging Face
/// tokenizers). One flag word per code point: lookups in the hot loops are a single load.
final class CharacterTable: @unchecked Sendable {
    struct Flags: OptionSet {
        let rawValue: UInt16
        static let cleanRemoved = Flags(rawValue: 1 << 0)
        static let cleanSpace = Flags(rawValue: 1 << 1)
        static let cjk = Flags(rawValue: 1 << 2)
        static let bertSpace = Flags(rawValue: 1 << 3)
        static let bertPunctuation = Flags(rawValue: 1 << 4)
        static let gpt2Letter = Flags(rawValue: 1 << 5)
        static let gpt2Number = Flags(rawValue: 1 << 6)
        static let gpt2Space = Flags(rawValue: 1 << 7)
        static let hasStripMapping = Flags(rawValue: 1 << 8)
        static let hasLowerMapping = Flags(rawValue: 1 << 9)
    }

    static let shared = CharacterTable()
    static let scalarCount = 0x110000

    private let flags: UnsafeMutableBufferPointer<UInt16>
    private let stripMapping: [UInt32: [UInt32]]
    private let lowerMapping: [UInt32: [UInt32]]

    private init() {
        let flags = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: Self.scalarCount)
        flags.initialize(repeating: 0)
        func mark(_ ranges: [UInt32], _ flag: Flags) {
            for i in stride(from: 0, to: ranges.count, by: 2) {
                for scalar in ranges[i]...ranges[i + 1] { flags[Int(scalar)] |= flag.rawValue }
            }
        }
        mark(ReferenceTables.cleanRemoved, .cleanRemoved)
        mark(ReferenceTables.cleanSpace, .cleanSpace)
        mark(ReferenceTables.cjk, .cjk)
        mark(ReferenceTables.bertSpace, .bertSpace)
        mark(ReferenceTables.bertPunct, .bertPunctuation)
        mark(ReferenceTables.gpt2Letter, .gpt2Letter)
        mark(ReferenceTables.gpt2Number, .gpt2Number)
        mark(ReferenceTables.gpt2Space, .gpt2Space)
        func mappings(_ records: [UInt32], _ flag: Flags) -> [UInt32: [UInt32]] {
            var table: [UInt32: [UInt32]] = [:]
            var i = 0
            while i < records.count {
                let scalar = records[i], count = Int(records[i + 1])
                table[scalar] = Array(records[(i + 2)..<(i + 2 + count)])
                flags[Int(scalar)] |= flag.rawValue
                i += 2 + count
            }
            return table
        }
        stripMapping = mappings(ReferenceTables.stripMap, .hasStripMapping)
        lowerMapping = mappings(ReferenceTables.lowerMap, .hasLowerMapping)
        for scalar in Self.hangulFirst...Self.hangulLast { flags[Int(scalar)] |= Flags.hasStripMapping.rawValue }
        self.flags = flags
    }

    @inline(__always)
    func flags(_ scalar: UInt32) -> Flags { Flags(rawValue: flags[Int(scalar)]) }

    /// `scalar` with accents stripped (NFD, then non-spacing marks removed), appended to `out`.
    func appendStripped(_ scalar: UInt32, to out: inout [UInt32]) {
        if (Self.hangulFirst...Self.hangulLast).contains(scalar) {
            // Hangul syllables decompose arithmetically into two or three jamo (Unicode §3.12).
            let index = scalar - Self.hangulFirst
            out.append(0x1100 + index / 588)
            out.append(0x1161 + (index % 588) / 28)
            if index % 28 != 0 { out.append(0x11A7 + index % 28) }
        } else if let mapped = stripMapping[scalar] {
            out.append(contentsOf: mapped)
        } else {
            out.append(scalar)
        }
    }

    /// The lower-case form of `scalar` (one or more scalars), appended to `out`.
    func appendLowercased(_ scalar: UInt32, to out: inout [UInt32]) {
        if let mapped = lowerMapping[scalar] { out.append(contentsOf: mapped) } else { out.append(scalar) }
    }

    private static let hangulFirst: UInt32 = 0xAC00
    private static let hangulLast: UInt32 = 0xD7A3
}
