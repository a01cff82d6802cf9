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
    /// Mappings as flat records [count, scalars…]; `*Index[scalar]` is a record's offset.
    private let mappingData: [UInt32]
    private let stripIndex: [UInt32: Int]
    private let lowerIndex: [UInt32: Int]
    /// Single-scalar lower-case mappings of the first 64 Ki scalars, looked up without hashing (0: none).
    private let lowerBMP: [UInt32]

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
        var data: [UInt32] = []
        func mappings(_ records: [UInt32], _ flag: Flags) -> [UInt32: Int] {
            var index: [UInt32: Int] = [:]
            var i = 0
            while i < records.count {
                let scalar = records[i], count = Int(records[i + 1])
                index[scalar] = data.count
                data.append(contentsOf: records[(i + 1)..<(i + 2 + count)])
                flags[Int(scalar)] |= flag.rawValue
                i += 2 + count
            }
            return index
        }
        stripIndex = mappings(ReferenceTables.stripMap, .hasStripMapping)
        lowerIndex = mappings(ReferenceTables.lowerMap, .hasLowerMapping)
        var lowerBMP = [UInt32](repeating: 0, count: 0x10000)
        for (scalar, offset) in lowerIndex where scalar < 0x10000 && data[offset] == 1 { lowerBMP[Int(scalar)] = data[offset + 1] }
        self.lowerBMP = lowerBMP
        mappingData = data
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
        } else if let offset = stripIndex[scalar] {
            out.append(contentsOf: mappingData[(offset + 1)..<(offset + 1 + Int(mappingData[offset]))])
        } else {
            out.append(scalar)
        }
    }

    /// The lower-case form of `scalar` (one or more scalars), appended to `out`.
    func appendLowercased(_ scalar: UInt32, to out: inout [UInt32]) {
        if scalar < 0x10000, lowerBMP[Int(scalar)] != 0 {
            out.append(lowerBMP[Int(scalar)])
        } else if let offset = lowerIndex[scalar] {
            out.append(contentsOf: mappingData[(offset + 1)..<(offset + 1 + Int(mappingData[offset]))])
        } else {
            out.append(scalar)
        }
    }

    private static let hangulFirst: UInt32 = 0xAC00
    private static let hangulLast: UInt32 = 0xD7A3
}
