import Kernels
import TensorFormats

extension Precision {
    /// The precision `checkpoint`'s weights are stored for, which a model loaded from it runs in
    /// unless told otherwise: int8 for ckpt's int8 checkpoints (`Int8Scheme`), whose weights in f32
    /// would carry int8's rounding at f32's cost, else f32 (as transformers loads a bf16 or f16
    /// checkpoint in f32 unless told otherwise).
    public static func stored(in checkpoint: Checkpoint) -> Precision {
        Int8Scheme.quantizedCount(checkpoint.tensors) > 0 ? .int8 : .f32
    }
}
