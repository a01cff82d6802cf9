/// Whether a model loads its checkpoint's output heads: BERT's masked-LM head, GPT-2's LM head.
/// Hidden states (features, attention maps) never use them; left out, they take no memory and no
/// load time (an int8 head is a quantized copy of the token table: 23 MB in bert-base, 39 MB in
/// GPT-2 124M).
public enum OutputHeads: Sendable {
    /// Every head the checkpoint holds.
    case loaded
    /// None: the model makes hidden states only.
    case omitted
}
