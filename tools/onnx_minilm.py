"""ONNX Runtime's int8 routes for a BERT sentence encoder, as its users take them: the model exported
to ONNX, optionally fused by ONNX Runtime's transformer optimizer, then
`onnxruntime.quantization.quantize_dynamic` (int8 weights per channel, uint8 activations quantized
per tensor at run time), run with `intra_op_num_threads`, then sentence-transformers' mean pooling
and L2 normalisation in NumPy. Texts are sorted by length and padded per batch, as
sentence-transformers does.
"""
from pathlib import Path

import numpy as np


ROUTES = ("int8", "int8-fused")
"""ONNX Runtime's two int8 routes: `quantize_dynamic` on the exported graph as it is, and on the graph
first put through ONNX Runtime's transformer optimizer (`optimize_model(model_type="bert")`), which
fuses attention, skip layer norm, bias GELU and the embedding layer norm into single ops that the
quantizer turns into QAttention and QEmbedLayerNormalization. Either can be the faster."""


def export_f32(model_dir, work):
    """The ONNX file of `model_dir`'s encoder in f32 (its last hidden state), made once under `work`."""
    import torch
    from transformers import AutoModel

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    f32 = work / "minilm-f32.onnx"
    if not f32.exists():
        # Eager attention and the TorchScript exporter: the graph ONNX Runtime's BERT optimisations
        # and quantizer know (the dynamo exporter's graph of SDPA gave wrong features after quantization).
        model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()

        class Hidden(torch.nn.Module):
            def __init__(self, bert):
                super().__init__()
                self.bert = bert

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

        ids = torch.ones(2, 16, dtype=torch.long)
        axes = {0: "batch", 1: "length"}
        torch.onnx.export(Hidden(model), (ids, ids, torch.zeros_like(ids)), str(f32), input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], dynamo=False, opset_version=17,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes})
    return f32


def export_int8(model_dir, work, route="int8"):
    """The quantized ONNX file of `model_dir` for `route` (one of ROUTES), made once under `work`."""
    import json
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = export_f32(model_dir, work)
    int8 = Path(work) / f"minilm-{route}.onnx"
    if not int8.exists():
        options = {}
        if route == "int8-fused":
            from onnxruntime.transformers.optimizer import optimize_model

            config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
            fused = Path(work) / "minilm-f32-fused.onnx"
            optimize_model(str(source), model_type="bert", num_heads=config["num_attention_heads"],
                           hidden_size=config["hidden_size"]).save_model_to_file(str(fused))
            source = fused
            # The fused ops come from ONNX Runtime's own domain, where shape inference gives no types.
            options = {"DefaultTensorType": onnx.TensorProto.FLOAT}
        quantize_dynamic(str(source), str(int8), weight_type=QuantType.QInt8, per_channel=True, extra_options=options)
    return int8


class OrtEncoder:
    def __init__(self, onnx_path, model_dir, threads, max_length=256):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.no_padding()  # the model's tokenizer.json pads to 128; batches are padded here
        self.inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts, batch_size=32):
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.zeros((len(texts), 0), dtype=np.float32)
        rows = {}
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            length = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), length), dtype=np.int64)
            mask = np.zeros_like(ids)
            for r, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
            pooled = (hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            for r, i in enumerate(batch):
                rows[i] = pooled[r]
        return np.stack([rows[i] for i in range(len(texts))]) if texts else out
