import Kernels
import TensorFormats

extension Precision {
    /// The precision a model runs in unless told otherwise, picked as transformers' default
    /// `dtype="auto"` picks the type it loads weights in: int8 for ckpt's int8 checkpoints
    /// (`Int8Scheme`), whose weights in f32 would carry int8's rounding at f32's cost; else bf16
    /// where the config's `dtype` is "bfloat16" or, without one, where the checkpoint's first
    /// floating-point tensor is BF16; else f32, float16 included (ckpt has no f16 products).
    public static func stored(in checkpoint: Checkpoint, configDType: String?) -> Precision {
        if Int8Scheme.quantizedCount(checkpoint.tensors) > 0 { return .int8 }
        if let configDType { return configDType == "bfloat16" ? .bf16 : .f32 }
        return checkpoint.tensors.first(where: \.dtype.isFloatingPoint)?.dtype == .BF16 ? .bf16 : .f32
    }
}
