import Kernels
import TensorFormats
import Tokenizers

/// Problems predicting masked tokens.
public enum FillMaskError: Error, CustomStringConvertible, Sendable {
    case noMaskedLMHead
    case noMaskToken(String)
    case textHasNoMask(String)

    public var description: String {
        switch self {
        case .noMaskedLMHead: return "the checkpoint has no masked-LM head (cls.predictions.*): fill-mask needs a BertForMaskedLM checkpoint, or a GGUF file written with --with-heads"
        case .noMaskToken(let token): return "the tokenizer has no '\(token)' token"
        case .textHasNoMask(let token): return "the text holds no \(token) to fill"
        }
    }
}

/// The most likely tokens at one masked position, as transformers' fill-mask pipeline reports
/// them: softmax over the vocabulary of the masked-LM logits, highest first.
public struct MaskPrediction: Sendable {
    /// Index of the mask among the input's tokens (special tokens included).
    public let position: Int
    public let candidates: [(id: Int32, probability: Float)]
}

extension BERT {
    /// Top-`k` predictions for every `maskToken` in `text`, in text order, computed on `threads` threads.
    public func fillMask(_ text: String, tokenizer: Tokenizer, topK k: Int, maskToken: String = "[MASK]", threads: Int = 1) throws -> [MaskPrediction] {
        precondition(heads == .loaded, "fillMask: the model was loaded with its heads omitted")
        guard hasMaskedLMHead else { throw FillMaskError.noMaskedLMHead }
        guard let mask = tokenizer.id(of: maskToken) else { throw FillMaskError.noMaskToken(maskToken) }
        let encoding = tokenizer.encode(text, maxLength: config.maxPositions)
        let positions = encoding.ids.indices.filter { encoding.ids[$0] == mask }
        guard !positions.isEmpty else { throw FillMaskError.textHasNoMask(maskToken) }
        let T = encoding.count, C = config.hiddenSize, V = config.vocabularySize
        let hidden = hiddenStates(ids: encoding.ids, typeIds: encoding.typeIds, mask: [Int32](repeating: 1, count: T), batch: 1, length: T,
                                  threads: threads)
        let rows = positions.flatMap { hidden[($0 * C)..<(($0 + 1) * C)] }
        var logits = maskedLMLogits(rows, rows: positions.count, threads: threads)!
        return logits.withUnsafeMutableBufferPointer { buffer in
            RowKernels.softmaxRows(buffer.baseAddress!, rows: positions.count, n: V)
            return positions.enumerated().map { row, position in
                let probabilities = buffer[(row * V)..<((row + 1) * V)]
                let top = Ranking.top(k, of: probabilities).map { (Int32($0 - row * V), probabilities[$0]) }
                return MaskPrediction(position: position, candidates: top)
            }
        }
    }
}
