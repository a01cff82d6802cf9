import Kernels
import TensorFormats

/// BERT's weights as contiguous f32 arrays, read through a `WeightSource`.
///
/// Checkpoint quirks, each a named rule:
/// - `bertPrefix`: BertForMaskedLM / BertForSequenceClassification keep the encoder under "bert.";
///   BertModel and sentence-transformers checkpoints keep it bare.
/// - `legacyLayerNorm`: TensorFlow-era checkpoints name LayerNorm parameters gamma / beta.
/// - `optionalPooler`: BertForMaskedLM has no pooler; the pooled output is then unavailable.
/// - `tiedDecoder`: the masked-LM decoder shares the word embeddings; its bias is `cls.predictions.bias`.
struct BERTWeights {
    struct Layer {
        /// Query, key and value projections stacked: [3C, C] and [3C], so one product makes all three.
        var queryKeyValue: LinearWeight
        var queryKeyValueBias: Parameter
        var attentionOutput: LinearWeight
        var attentionOutputBias, attentionNormWeight, attentionNormBias: Parameter
        var intermediate: LinearWeight
        var intermediateBias: Parameter
        var output: LinearWeight
        var outputBias, outputNormWeight, outputNormBias: Parameter
    }

    struct MaskedLMHead {
        var transform: LinearWeight
        var transformBias, normWeight, normBias: Parameter
        /// The word embeddings [V, C], packed as the decoder's weight.
        var decoder: LinearWeight
        var decoderBias: Parameter
    }

    /// [V, C] (`TokenTable`): read from the masked-LM decoder where there is one and it holds the same values.
    var wordEmbeddings: TokenTable
    var positionEmbeddings, typeEmbeddings, embeddingNormWeight, embeddingNormBias: Parameter
    var layers: [Layer]
    var pooler: (weight: LinearWeight, bias: Parameter)?
    var maskedLM: MaskedLMHead?

    static let bertPrefix = ["", "bert."]
    static let maskedLMTransform = "cls.predictions.transform.dense.weight"
    static let legacyLayerNorm = [("LayerNorm.weight", "LayerNorm.gamma"), ("LayerNorm.bias", "LayerNorm.beta")]

    init(_ checkpoint: Checkpoint, config c: BERTConfig, precision: Precision, heads: OutputHeads) throws {
        let source = WeightSource(checkpoint: checkpoint, prefixes: Self.bertPrefix, aliases: Self.legacyLayerNorm, precision: precision)
        let C = c.hiddenSize, I = c.intermediateSize
        // tiedDecoder, packed first so that the table it replaces is freed before the layers are read.
        let tableName = "embeddings.word_embeddings.weight", decoder: LinearWeight?
        (wordEmbeddings, decoder) = try heads == .loaded && source.contains(Self.maskedLMTransform)
            ? source.tiedTokenTable(tableName, [c.vocabularySize, C]) : (source.tokenTable(tableName, [c.vocabularySize, C]), nil)
        positionEmbeddings = try source.tensor("embeddings.position_embeddings.weight", [c.maxPositions, C])
        typeEmbeddings = try source.tensor("embeddings.token_type_embeddings.weight", [c.typeVocabularySize, C])
        embeddingNormWeight = try source.tensor("embeddings.LayerNorm.weight", [C])
        embeddingNormBias = try source.tensor("embeddings.LayerNorm.bias", [C])
        layers = try (0..<c.layers).map { l in
            let p = "encoder.layer.\(l)."
            return Layer(
                queryKeyValue: try source.stackedLinear(["query", "key", "value"].map { p + "attention.self.\($0).weight" },
                                                        outputs: C, inputs: C),
                queryKeyValueBias: try Parameter(stacking: ["query", "key", "value"].map {
                    try source.tensor(p + "attention.self.\($0).bias", [C])
                }),
                attentionOutput: try source.linear(p + "attention.output.dense.weight", outputs: C, inputs: C),
                attentionOutputBias: try source.tensor(p + "attention.output.dense.bias", [C]),
                attentionNormWeight: try source.tensor(p + "attention.output.LayerNorm.weight", [C]),
                attentionNormBias: try source.tensor(p + "attention.output.LayerNorm.bias", [C]),
                intermediate: try source.linear(p + "intermediate.dense.weight", outputs: I, inputs: C),
                intermediateBias: try source.tensor(p + "intermediate.dense.bias", [I]),
                output: try source.linear(p + "output.dense.weight", outputs: C, inputs: I),
                outputBias: try source.tensor(p + "output.dense.bias", [C]),
                outputNormWeight: try source.tensor(p + "output.LayerNorm.weight", [C]),
                outputNormBias: try source.tensor(p + "output.LayerNorm.bias", [C]))
        }
        // optionalPooler
        if source.contains("pooler.dense.weight") {
            pooler = (try source.linear("pooler.dense.weight", outputs: C, inputs: C), try source.tensor("pooler.dense.bias", [C]))
        }
        // tiedDecoder: only the transform, its norm and the output bias are stored.
        if let decoder {
            maskedLM = MaskedLMHead(
                transform: try source.linear(Self.maskedLMTransform, outputs: C, inputs: C),
                transformBias: try source.tensor("cls.predictions.transform.dense.bias", [C]),
                normWeight: try source.tensor("cls.predictions.transform.LayerNorm.weight", [C]),
                normBias: try source.tensor("cls.predictions.transform.LayerNorm.bias", [C]),
                decoder: decoder,
                decoderBias: try source.tensor("cls.predictions.bias", [c.vocabularySize]))
        }
        try source.finish()
        unused = source.unused
    }

    /// Checkpoint tensors the model did not read (other task heads, buffers such as position_ids).
    var unused: [String] = []
}
