/// A tokenizer's vocabulary as lists, for writing it into other formats (GGUF's `tokenizer.ggml.*`).
public struct TokenizerListing: Sendable {
    public enum Model: String, Sendable { case wordPiece, bytePair }

    public let model: Model
    /// Every token by id (ids without a token: "").
    public let tokens: [String]
    /// Whether each id is an added token, and whether it is special (both false for model tokens).
    public let added: [Bool]
    public let special: [Bool]
    /// BPE merges as "left right", in rank order (empty for WordPiece).
    public let merges: [String]
    /// WordPiece's continuing-subword prefix ("##").
    public let subwordPrefix: String?
    /// Whether the text is lower-cased first (nil: no normalizer).
    public let lowercase: Bool?
}

extension Tokenizer {
    /// The vocabulary, added tokens and merges as lists.
    public var listing: TokenizerListing {
        let count = vocabularySize
        var tokens = (0..<count).map { token(Int32($0)) ?? "" }
        var added = [Bool](repeating: false, count: count), special = [Bool](repeating: false, count: count)
        for token in addedTokens {
            tokens[Int(token.id)] = token.content
            added[Int(token.id)] = true
            special[Int(token.id)] = token.special
        }
        switch model {
        case .wordPiece(let wordPiece):
            return TokenizerListing(model: .wordPiece, tokens: tokens, added: added, special: special, merges: [], subwordPrefix: wordPiece.continuingSubwordPrefix,
                                    lowercase: normalizer?.lowercase)
        case .bytePair(let bpe, _):
            let merges = bpe.merges.pairsInRankOrder.map { "\(tokens[Int($0.left)]) \(tokens[Int($0.right)])" }
            return TokenizerListing(model: .bytePair, tokens: tokens, added: added, special: special, merges: merges, subwordPrefix: nil, lowercase: normalizer?.lowercase)
        }
    }
}
