import Kernels
import Tokenizers

/// Why generation stopped.
public enum StopReason: String, Sendable {
    /// The model produced `<|endoftext|>` (kept as the last id, as transformers' generate keeps it).
    case endOfText = "eos"
    /// `maxNewTokens` were produced.
    case maxNewTokens = "length"
    /// The context is full: prompt + new tokens reached the model's positions.
    case context
}

/// Problems with a prompt.
public enum GenerationError: Error, CustomStringConvertible, Sendable, Equatable {
    case promptTooLong(tokens: Int, context: Int)

    public var description: String {
        switch self {
        case .promptTooLong(let tokens, let context):
            return "the prompt is \(tokens) tokens, more than the model's context of \(context) minus one for a new token; "
                + "shorten it, or truncate it on the left to its last \(context - 1) tokens"
        }
    }
}

/// Continues prompts with a GPT-2: the prompt in one prefill, then one token at a time against the
/// KV cache, each chosen by the `Sampler`, until `<|endoftext|>`, `maxNewTokens` or a full context.
public final class TextGenerator: @unchecked Sendable {
    public let model: GPT2
    public let tokenizer: Tokenizer

    public init(model: GPT2, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Loads the model (its products in `precision`; nil: as its checkpoint is stored) and tokenizer
    /// of a GPT-2 directory or GGUF file.
    public convenience init(path: String, precision: Precision? = nil) throws {
        try self.init(source: ModelSource(path: path), precision: precision)
    }

    /// Loads `source`'s model (its products in `precision`; nil: as its checkpoint is stored) and tokenizer.
    public convenience init(source: ModelSource, precision: Precision? = nil) throws {
        try self.init(model: GPT2(source: source, precision: precision), tokenizer: source.tokenizer())
    }

    /// The prompt's token ids: empty text starts from `<|endoftext|>`, as transformers' generate
    /// starts from the BOS token. A prompt that leaves no room for a new token is an error, or
    /// loses its first tokens with `truncateLeft` (`dropped` counts them).
    public func promptIds(_ text: String, truncateLeft: Bool = false) throws -> (ids: [Int32], dropped: Int) {
        var ids = tokenizer.encodeIDs(text, addSpecialTokens: false)
        if ids.isEmpty { ids = [model.config.endOfText] }
        let dropped = max(0, ids.count - (model.config.maxPositions - 1))
        if dropped > 0 {
            guard truncateLeft else { throw GenerationError.promptTooLong(tokens: ids.count, context: model.config.maxPositions) }
            ids.removeFirst(dropped)
        }
        return (ids, dropped)
    }

    /// New token ids after `prompt` (at most `maxNewTokens`), and why generation stopped;
    /// `onToken` sees each id as it is chosen.
    public func generate(_ prompt: [Int32], maxNewTokens: Int, sampling: SamplingSettings, threads: Int = 1,
                         onToken: (Int32) -> Void = { _ in }) -> (ids: [Int32], stop: StopReason) {
        var decoding = decoding(prompt, maxNewTokens: maxNewTokens, sampling: sampling, threads: threads)
        var new: [Int32] = []
        while let next = decoding.next() {
            new.append(next)
            onToken(next)
        }
        return (new, decoding.stop!)
    }

    /// The generation of `generate`, one token per `next()`, for callers that interleave it with
    /// other work. The prompt's prefill runs here. `cacheElements`: how the KV cache stores keys
    /// and values (nil: the model's `cacheElements`).
    public func decoding(_ prompt: [Int32], maxNewTokens: Int, sampling: SamplingSettings, threads: Int = 1,
                         cacheElements: KVCache.Elements? = nil) -> Decoding {
        Decoding(model: model, prompt: prompt, maxNewTokens: maxNewTokens, sampling: sampling, threads: threads, cacheElements: cacheElements)
    }
}

/// A generation one token at a time: each `next()` chooses a token from the last logits and, unless
/// it ends the generation, runs it through the model against the KV cache.
public struct Decoding: IteratorProtocol {
    private let model: GPT2, cache: KVCache, maxNewTokens: Int, threads: Int
    private var sampler: Sampler, logits: [Float] = [], produced = 0
    /// Why generation stopped, once it has (then `next()` is nil).
    public private(set) var stop: StopReason?

    init(model: GPT2, prompt: [Int32], maxNewTokens: Int, sampling: SamplingSettings, threads: Int, cacheElements: KVCache.Elements?) {
        precondition(!prompt.isEmpty && prompt.count < model.config.maxPositions, "generate: the prompt must leave room for a token")
        (self.model, self.maxNewTokens, self.threads) = (model, maxNewTokens, threads)
        cache = model.makeCache(capacity: prompt.count + maxNewTokens, elements: cacheElements)
        sampler = Sampler(sampling)
        if maxNewTokens > 0 { logits = model.logits(prompt, cache: cache, threads: threads) } else { stop = .maxNewTokens }
    }

    public mutating func next() -> Int32? {
        guard stop == nil else { return nil }
        let next = sampler.next(logits)
        produced += 1
        stop = stopReason(after: next)
        if stop == nil { logits = model.logits([next], cache: cache, threads: threads) }
        return next
    }

    private func stopReason(after next: Int32) -> StopReason? {
        if next == model.config.endOfText { return .endOfText }
        if produced == maxNewTokens { return .maxNewTokens }
        return cache.remaining == 0 ? .context : nil
    }
}
