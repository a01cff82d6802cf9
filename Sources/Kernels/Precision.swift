/// The element type of a model's matrix products with weights. Layer norm, softmax, GELU and
/// pooling stay f32 in every precision; so do the attention products (see README, "Precision").
public enum Precision: String, Sendable, CaseIterable, Codable {
    /// f32 weights and activations.
    case f32
    /// bf16 weights and activations (rounded to nearest), products summed in f32.
    case bf16
    /// Weights quantized per output channel to s8 (symmetric), each row of activations to u8
    /// (asymmetric, dynamically, per call), products summed exactly in s32 and dequantized to f32.
    case int8
}
