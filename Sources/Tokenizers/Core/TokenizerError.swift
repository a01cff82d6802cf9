/// Problems loading or using a tokenizer.
public enum TokenizerError: Error, CustomStringConvertible, Sendable {
    case unsupportedComponent(String)
    case missingField(String)
    case invalidVocabulary(String)
    case invalidMerges(String)
    case missingToken(String)
    case noTokenizerFiles(lookedFor: String)
    case invalidUTF8(line: Int)

    public var description: String {
        switch self {
        case .unsupportedComponent(let what): return "unsupported tokenizer component: \(what)"
        case .missingField(let what): return "tokenizer.json lacks \(what)"
        case .invalidVocabulary(let what): return "invalid vocabulary: \(what)"
        case .invalidMerges(let what): return "invalid merges: \(what)"
        case .missingToken(let token): return "the vocabulary has no '\(token)' token"
        case .noTokenizerFiles(let lookedFor): return "no tokenizer files (looked for \(lookedFor))"
        case .invalidUTF8(let line): return "line \(line) is not valid UTF-8"
        }
    }
}
