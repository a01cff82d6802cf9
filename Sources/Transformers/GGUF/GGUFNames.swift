/// llama.cpp's GGUF tensor names for BERT and GPT-2 beside the Hugging Face names they stand for
/// (without a "bert." or "transformer." prefix): the one table both directions of conversion use.
enum GGUFNames {
    struct Pair {
        let gguf: String
        let hf: String
        /// GPT-2's Conv1D weights: [in, out] in Hugging Face checkpoints, [out, in] in GGUF.
        let transpose: Bool
    }

    /// BERT's encoder (llama.cpp writes neither the pooler nor the masked-LM head).
    static func bert(layers: Int) -> [Pair] {
        var pairs = [("token_embd.weight", "embeddings.word_embeddings.weight"), ("position_embd.weight", "embeddings.position_embeddings.weight"),
                     ("token_types.weight", "embeddings.token_type_embeddings.weight"),
                     ("token_embd_norm.weight", "embeddings.LayerNorm.weight"), ("token_embd_norm.bias", "embeddings.LayerNorm.bias")]
        for n in 0..<layers {
            let hf = "encoder.layer.\(n).", blk = "blk.\(n)."
            for (gguf, source) in [("attn_q", "attention.self.query"), ("attn_k", "attention.self.key"), ("attn_v", "attention.self.value"),
                                   ("attn_output", "attention.output.dense"), ("attn_output_norm", "attention.output.LayerNorm"),
                                   ("ffn_up", "intermediate.dense"), ("ffn_down", "output.dense"), ("layer_output_norm", "output.LayerNorm")] {
                pairs.append((blk + gguf + ".weight", hf + source + ".weight"))
                pairs.append((blk + gguf + ".bias", hf + source + ".bias"))
            }
        }
        return pairs.map { Pair(gguf: $0.0, hf: $0.1, transpose: false) }
    }

    /// GPT-2's decoder, without the output matrix (`output`, the tied token embedding or `lm_head`).
    static func gpt2(layers: Int) -> [Pair] {
        var pairs = [Pair(gguf: "token_embd.weight", hf: "wte.weight", transpose: false), Pair(gguf: "position_embd.weight", hf: "wpe.weight", transpose: false),
                     Pair(gguf: "output_norm.weight", hf: "ln_f.weight", transpose: false), Pair(gguf: "output_norm.bias", hf: "ln_f.bias", transpose: false)]
        for n in 0..<layers {
            let hf = "h.\(n).", blk = "blk.\(n)."
            for (gguf, source, conv) in [("attn_norm", "ln_1", false), ("attn_qkv", "attn.c_attn", true), ("attn_output", "attn.c_proj", true),
                                         ("ffn_norm", "ln_2", false), ("ffn_up", "mlp.c_fc", true), ("ffn_down", "mlp.c_proj", true)] {
                pairs.append(Pair(gguf: blk + gguf + ".weight", hf: hf + source + ".weight", transpose: conv))
                pairs.append(Pair(gguf: blk + gguf + ".bias", hf: hf + source + ".bias", transpose: false))
            }
        }
        return pairs
    }

    static let output = "output.weight"
    static let lmHead = "lm_head.weight"
}
