// The tokenizer file loaders on untrusted bytes. The first byte picks the loader (and, for
// vocab.txt, lower-casing); for vocab.json + merges.txt a NUL byte separates the two files. A
// tokenizer that loads then encodes and decodes a mixed text, so its tables are used, not only built.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerFiles(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    do {
        let tokenizer: Tokenizer
        switch data[0] % 4 {
        case 0:
            tokenizer = try TokenizerFileContents.tokenizerJSON(bytes)
        case 1:
            tokenizer = try TokenizerFileContents.wordPieceVocabulary(bytes, lowercase: data[0] & 4 != 0, source: "fuzz")
        case 2:
            let split = bytes.firstIndex(of: 0) ?? bytes.count
            let vocabulary = try VocabularyFiles.vocabularyFromJSON(JSON.parse(UnsafeRawBufferPointer(rebasing: bytes[..<split])))
            let merges = UnsafeRawBufferPointer(rebasing: bytes[min(split + 1, bytes.count)...])
            tokenizer = try TokenizerFileContents.bytePair(vocabulary: vocabulary, merges: merges, source: "fuzz")
        default:
            tokenizer = try TokenizerFileContents.tiktoken(bytes, source: "fuzz")
        }
        let encoding = tokenizer.encode("Hello, wörld! 東京 unaffable <|endoftext|> [CLS]  x", pair: "a second text")
        _ = tokenizer.decode(encoding.ids)
        _ = tokenizer.encode(String(repeating: "ab ", count: 40), maxLength: 16)
    } catch is FormatError {
    } catch is TokenizerError {
    } catch is JSONError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}
