import Kernels
import TensorFormats

/// GPT-2's weights as contiguous f32 arrays, read through a `WeightSource`.
///
/// Checkpoint quirks, each a named rule:
/// - `transformerPrefix`: GPT2LMHeadModel keeps the decoder under "transformer."; GPT2Model and the
///   published `gpt2` checkpoint keep it bare (`wte.weight`, `h.0.attn.c_attn.weight`, …).
/// - `conv1DTransposed`: GPT-2's Conv1D stores weights [in, out]; they are transposed at load to the
///   [out, in] of nn.Linear, so one matrix-product routine serves BERT and GPT-2.
/// - `maskBuffers`: `attn.bias` (the causal mask) and `attn.masked_bias` are buffers, not weights;
///   the causal mask is applied by the attention kernel, so they are skipped.
/// - `tiedOutput`: the output projection is `wte` unless the config sets `tie_word_embeddings` false;
///   a stored `lm_head.weight` of a tied model is a copy of `wte` (transformers ties it over on load).
struct GPT2Weights {
    struct Layer {
        var norm1Weight, norm1Bias: Parameter
        /// Query, key and value stacked: [3C, C] and [3C].
        var attention: LinearWeight
        var attentionBias: Parameter
        var attentionOutput: LinearWeight
        var attentionOutputBias: Parameter
        var norm2Weight, norm2Bias: Parameter
        var feedForward: LinearWeight  // [I, C]
        var feedForwardBias: Parameter  // [I]
        var feedForwardOutput: LinearWeight  // [C, I]
        var feedForwardOutputBias: Parameter  // [C]
    }

    /// [V, C] (`TokenTable`): read from `output` where it is tied and holds the same values.
    var tokenEmbeddings: TokenTable
    var positionEmbeddings: Parameter
    var layers: [Layer]
    var finalNormWeight, finalNormBias: Parameter
    /// [V, C]: the untied `lm_head.weight`, or `tokenEmbeddings` when tied, packed for the product;
    /// nil when the heads are omitted.
    var output: LinearWeight?
    /// Checkpoint tensors the model did not read, the mask buffers left out.
    var unused: [String]

    static let transformerPrefix = ["", "transformer."]
    static let maskBuffers = [".attn.bias", ".attn.masked_bias"]

    init(_ checkpoint: Checkpoint, config c: GPT2Config, precision: Precision, heads: OutputHeads) throws {
        let source = WeightSource(checkpoint: checkpoint, prefixes: Self.transformerPrefix, aliases: [], precision: precision)
        let C = c.hiddenSize, I = c.intermediateSize
        // conv1DTransposed
        func conv1D(_ name: String, inputs: Int, outputs: Int) throws -> LinearWeight {
            try source.linear(name, outputs: outputs, inputs: inputs, storedInputsFirst: true)
        }
        // tiedOutput, packed first so that the table it replaces is freed before the layers are read.
        switch (heads, c.tiedEmbeddings) {
        case (.omitted, _): (tokenEmbeddings, output) = (try source.tokenTable("wte.weight", [c.vocabularySize, C]), nil)
        case (.loaded, true): (tokenEmbeddings, output) = try source.tiedTokenTable("wte.weight", [c.vocabularySize, C])
        case (.loaded, false):
            (tokenEmbeddings, output) = (try source.tokenTable("wte.weight", [c.vocabularySize, C]),
                                         try source.outputLinear("lm_head.weight", [c.vocabularySize, C]))
        }
        positionEmbeddings = try source.tensor("wpe.weight", [c.maxPositions, C])
        layers = try (0..<c.layers).map { l in
            let p = "h.\(l)."
            return Layer(
                norm1Weight: try source.tensor(p + "ln_1.weight", [C]), norm1Bias: try source.tensor(p + "ln_1.bias", [C]),
                attention: try conv1D(p + "attn.c_attn.weight", inputs: C, outputs: 3 * C),
                attentionBias: try source.tensor(p + "attn.c_attn.bias", [3 * C]),
                attentionOutput: try conv1D(p + "attn.c_proj.weight", inputs: C, outputs: C),
                attentionOutputBias: try source.tensor(p + "attn.c_proj.bias", [C]),
                norm2Weight: try source.tensor(p + "ln_2.weight", [C]), norm2Bias: try source.tensor(p + "ln_2.bias", [C]),
                feedForward: try conv1D(p + "mlp.c_fc.weight", inputs: C, outputs: I),
                feedForwardBias: try source.tensor(p + "mlp.c_fc.bias", [I]),
                feedForwardOutput: try conv1D(p + "mlp.c_proj.weight", inputs: I, outputs: C),
                feedForwardOutputBias: try source.tensor(p + "mlp.c_proj.bias", [C]))
        }
        finalNormWeight = try source.tensor("ln_f.weight", [C])
        finalNormBias = try source.tensor("ln_f.bias", [C])
        try source.finish()
        // maskBuffers, and tiedOutput's copy
        let skipped = Self.maskBuffers + (c.tiedEmbeddings ? ["lm_head.weight"] : [])
        unused = source.unused.filter { name in !skipped.contains { name.hasSuffix($0) } }
    }
}
