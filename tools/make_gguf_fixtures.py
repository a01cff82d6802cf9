#!/usr/bin/env python3
"""Writes fixtures/gguf/: GGUF files made by the `gguf` package (the reference reader and writer
maintained with llama.cpp) and malformed ones, with what a reader must report.

  valid/types.gguf      one tensor each of F32 [3, 64], F16 [2, 64], BF16 [64] and Q8_0 [2, 64]
                        (gguf.quants.quantize of the f32 values), and metadata of every value type,
                        arrays (of numbers, of strings, of arrays) included
  valid/types.json      what the Swift test expects: each tensor's shape (row-major), its f32 values
                        (Q8_0 dequantized by gguf.quants.dequantize), and each scalar key's value
  valid/v2.gguf         the same tensors in a version-2 file with general.alignment 64
  malformed/*.gguf      byte-level damage to valid/types.gguf, one rule each
  malformed/expected.json  file → the message ckpt must give (after "error: <file>: ")
  fuzz-found/           kept by hand: inputs `make fuzz` found, with their expected.json (not rewritten here)

    python tools/make_gguf_fixtures.py
"""
import json
import shutil
import struct
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import dequantize, quantize

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "gguf"


def tensors():
    rng = np.random.default_rng(0)
    return {
        "f32": rng.standard_normal((3, 64)).astype(np.float32),
        "f16": rng.standard_normal((2, 64)).astype(np.float16),
        "bf16": rng.standard_normal(64).astype(np.float32),
        "q8": rng.standard_normal((2, 64)).astype(np.float32),
    }


def write(path, version_two=False):
    w = GGUFWriter(str(path), "bert")
    if version_two:
        w.add_uint32("general.alignment", 64)
        w.data_alignment = 64
    w.add_string("general.name", "fixture ✓")
    w.add_uint8("t.u8", 200); w.add_int8("t.i8", -100); w.add_uint16("t.u16", 60000); w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4_000_000_000); w.add_int32("t.i32", -2_000_000_000); w.add_float32("t.f32", 0.25)
    w.add_uint64("t.u64", 2**63 + 5); w.add_int64("t.i64", -(2**62)); w.add_float64("t.f64", 1e-300); w.add_bool("t.bool", True)
    w.add_array("t.ints", [1, 2, 3]); w.add_array("t.strings", ["a", "ü", ""]); w.add_key_value("t.nested", [[1, 2], [3]], GGUFValueType.ARRAY)
    t = tensors()
    w.add_tensor("f32", t["f32"])
    w.add_tensor("f16", t["f16"])
    bf16 = (t["bf16"].view(np.uint32) >> 16).astype(np.uint16)
    w.add_tensor("bf16", bf16, raw_shape=(64,), raw_dtype=GGMLQuantizationType.BF16)
    q = quantize(t["q8"], GGMLQuantizationType.Q8_0)
    w.add_tensor("q8", q, raw_dtype=GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if version_two:
        data = bytearray(path.read_bytes())
        data[4:8] = struct.pack("<I", 2)
        path.write_bytes(bytes(data))


def expected_values():
    t = tensors()
    bf16 = ((t["bf16"].view(np.uint32) >> 16) << 16).view(np.float32)
    q8 = dequantize(quantize(t["q8"], GGMLQuantizationType.Q8_0), GGMLQuantizationType.Q8_0).reshape(2, 64)
    return {
        "tensors": {
            "f32": {"shape": [3, 64], "type": "F32", "values": t["f32"].ravel().tolist()},
            "f16": {"shape": [2, 64], "type": "F16", "values": t["f16"].astype(np.float32).ravel().tolist()},
            "bf16": {"shape": [64], "type": "BF16", "values": bf16.tolist()},
            "q8": {"shape": [2, 64], "type": "Q8_0", "values": q8.astype(np.float32).ravel().tolist()},
        },
        "metadata": {"general.name": "fixture ✓", "general.architecture": "bert", "t.u8": 200, "t.i8": -100, "t.u16": 60000,
                     "t.i16": -30000, "t.u32": 4_000_000_000, "t.i32": -2_000_000_000, "t.f32": 0.25, "t.u64": str(2**63 + 5),
                     "t.i64": -(2**62), "t.f64": 1e-300, "t.bool": True, "t.ints": [1, 2, 3], "t.strings": ["a", "ü", ""]},
    }


class Layout:
    """Offsets of the fields in valid/types.gguf, read with the reference reader."""

    def __init__(self, path):
        self.data = path.read_bytes()
        r = GGUFReader(str(path))
        self.fields = {name: f for name, f in r.fields.items()}
        self.tensors = {t.name: t for t in r.tensors}
        self.data_offset = r.data_offset

    def key_offset(self, key):
        return int(self.fields[key].offset)


def malformed(valid):
    layout = Layout(valid)
    data = layout.data
    cases = {}

    def damage(name, message, edit):
        buf = bytearray(data)
        out = edit(buf)
        (ROOT / "malformed" / name).write_bytes(bytes(out if out is not None else buf))
        cases[name] = message

    def u32(buf, at, value): buf[at:at + 4] = struct.pack("<I", value)
    def u64(buf, at, value): buf[at:at + 8] = struct.pack("<Q", value)

    # Field offsets: each field starts with its key (u64 length + bytes), then its u32 type.
    def value_at(key):
        start = layout.key_offset(key)
        return start + 8 + len(key.encode()) + 4  # past the key and the type code

    def tensor_info_at(name):
        # Tensor infos follow the metadata; find this one's name bytes after the last field.
        encoded = struct.pack("<Q", len(name)) + name.encode()
        return data.index(encoded, value_at("t.nested"))

    q8_info = tensor_info_at("q8")
    q8_dims = q8_info + 8 + 2          # the u32 dimension count
    q8_type = q8_dims + 4 + 2 * 8      # after two u64 dimensions
    q8_offset = q8_type + 4
    f32_info = tensor_info_at("f32")
    f32_type = f32_info + 8 + 3 + 4 + 2 * 8

    damage("bad-magic.gguf", 'not a GGUF file (the first 4 bytes are not "GGUF")', lambda b: b.__setitem__(slice(0, 4), b"GGML"))
    damage("version-4.gguf", "GGUF version 4 is not supported (versions 2 and 3 are)", lambda b: u32(b, 4, 4))
    damage("version-1.gguf", "GGUF version 1 is not supported (versions 2 and 3 are)", lambda b: u32(b, 4, 1))
    damage("big-endian.gguf", "a big-endian GGUF file; only little-endian files are read", lambda b: u32(b, 4, 0x03000000))
    damage("too-small.gguf", "file is 20 bytes, too short for a GGUF header (24 bytes)", lambda b: b[:20])
    damage("tensor-count-past-end.gguf", f"tensor count 1000000000000 cannot fit in the {len(data) - layout.key_offset('general.architecture')} bytes left in the file",
           lambda b: u64(b, 8, 10**12))
    damage("key-count-past-end.gguf", f"metadata count 1099511627776 cannot fit in the {len(data) - 24} bytes left in the file", lambda b: u64(b, 16, 2**40))
    damage("unknown-value-type.gguf", "metadata 't.u8' has unknown value type 13", lambda b: u32(b, value_at("t.u8") - 4, 13))
    damage("absurd-array.gguf", f"array 't.ints' count 4611686018427387904 cannot fit in the {len(data) - (value_at('t.ints') + 12)} bytes left in the file",
           lambda b: u64(b, value_at("t.ints") + 4, 2**62))
    damage("string-past-end.gguf", f"value of 'general.name' at byte {value_at('general.name') + 8} runs past the end of the file (truncated?)",
           lambda b: u64(b, value_at("general.name"), 2**50))
    damage("key-not-utf8.gguf", "metadata key is not valid UTF-8", lambda b: b.__setitem__(layout.key_offset("t.u8") + 8, 0xFF))
    damage("too-many-dimensions.gguf", "tensor 'q8' has 5 dimensions (GGUF allows at most 4)", lambda b: u32(b, q8_dims, 5))
    damage("unknown-tensor-type.gguf", "tensor 'f32' has unknown type 99", lambda b: u32(b, f32_type, 99))
    damage("q4k-tensor.gguf", "tensor 'f32' is Q4_K, which ckpt does not read (F32, F16, BF16 and Q8_0 are read)", lambda b: u32(b, f32_type, 12))
    damage("misaligned-tensor.gguf", "tensor 'q8' starts at data offset 1, not a multiple of the alignment 32", lambda b: u64(b, q8_offset, 1))
    damage("overlapping-tensor.gguf", "tensor 'q8' overlaps tensor 'f32'", lambda b: u64(b, q8_offset, 0))
    damage("dimension-overflow.gguf", "tensor 'q8': its dimensions' product overflows", lambda b: u64(b, q8_dims + 4 + 8, 2**62))
    data_size = len(data) - layout.data_offset
    q8_end = int(layout.tensors["q8"].data_offset) - layout.data_offset + int(layout.tensors["q8"].n_bytes)
    damage("truncated-data.gguf", f"tensor 'q8' ends at data offset {q8_end}, past the {data_size - 100}-byte data section (truncated?)",
           lambda b: b[:len(b) - 100])
    damage("q8-row-misfit.gguf", "tensor 'q8' is Q8_0 with rows of 63 values, not a multiple of its 32-value blocks", lambda b: u64(b, q8_dims + 4, 63))
    (ROOT / "malformed" / "expected.json").write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main():
    for folder in ("valid", "malformed"):  # fuzz-found/ is kept by hand
        if (ROOT / folder).exists():
            shutil.rmtree(ROOT / folder)
    (ROOT / "valid").mkdir(parents=True)
    (ROOT / "malformed").mkdir()
    write(ROOT / "valid" / "types.gguf")
    write(ROOT / "valid" / "v2.gguf", version_two=True)
    (ROOT / "valid" / "types.json").write_text(json.dumps(expected_values(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    malformed(ROOT / "valid" / "types.gguf")


if __name__ == "__main__":
    main()
