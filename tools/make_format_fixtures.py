#!/usr/bin/env python3
"""Writes fixtures/formats/: checkpoint files made by the reference libraries (NumPy, safetensors,
PyTorch), malformed files with the one-line error ckpt must give for each, and pinned checksums of
the reference's float conversions.

    python tools/make_format_fixtures.py          # from the repository root, in the tools venv
"""
import json
import os
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import ml_dtypes
import numpy as np
import torch
from safetensors.torch import save_file as save_torch

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "formats"
VALID = ROOT / "valid"
BAD = ROOT / "malformed"

TORCH_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U64": torch.uint64, "U32": torch.uint32, "U16": torch.uint16, "U8": torch.uint8,
    "BOOL": torch.bool, "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2,
}
NUMPY_DTYPES = ["<f2", "<f4", "<f8", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "|b1"]
DESCR_TO_DTYPE = {"f2": "F16", "f4": "F32", "f8": "F64", "i1": "I8", "i2": "I16", "i4": "I32", "i8": "I64",
                  "u1": "U8", "u2": "U16", "u4": "U32", "u8": "U64", "b1": "BOOL", "V2": "BF16"}


def torch_tensor(dtype_name, shape, seed):
    g = torch.Generator().manual_seed(seed)
    values = torch.randn(*shape, generator=g, dtype=torch.float64) * 100
    dtype = TORCH_DTYPES[dtype_name]
    if dtype == torch.bool:
        return values > 0
    if dtype.is_floating_point:
        flat = values.reshape(-1)
        if flat.numel() >= 4 and dtype not in (torch.float8_e4m3fn,):
            flat[1], flat[2] = float("inf"), float("-inf")
        if flat.numel() >= 4:
            flat[3] = float("nan")
        return flat.reshape(shape).to(dtype)
    if dtype in (torch.uint16, torch.uint32, torch.uint64):
        return values.abs().to(torch.int64).to(dtype)
    info = torch.iinfo(dtype)
    return values.clamp(info.min, info.max).to(dtype)


def tensor_bytes(t):
    t = t.contiguous().reshape(-1)
    return t.view(torch.uint8).numpy().tobytes() if t.numel() else b""


def array_bytes(a):
    if a.dtype.kind == "V" or a.dtype == ml_dtypes.bfloat16:
        return np.ascontiguousarray(a).tobytes()
    return np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()


def describe_safetensors(path):
    """Tensors of a safetensors file in data order, read independently of ckpt (header + slices)."""
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = []
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        b, e = info["data_offsets"]
        out.append({"name": name, "dtype": info["dtype"], "shape": info["shape"], "hex": raw[8 + n + b:8 + n + e].hex()})
    return out


def describe_npz(path):
    out = []
    with zipfile.ZipFile(path) as z:
        for member in z.infolist():
            with z.open(member) as f:
                version = np.lib.format.read_magic(f)
                read_header = {(1, 0): np.lib.format.read_array_header_1_0}.get(version, np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(f)
            a = np.load(path, allow_pickle=False)[member.filename[:-4]]
            kind = dtype.str[1:]
            out.append({"name": member.filename[:-4], "dtype": DESCR_TO_DTYPE[kind], "shape": list(shape),
                        "hex": array_bytes(a).hex()})
    return out


def write_valid():
    expected = {}
    # One safetensors file per dtype, written by the reference (safetensors.torch).
    for i, name in enumerate(TORCH_DTYPES):
        path = VALID / f"dtype_{name}.safetensors"
        save_torch({"t": torch_tensor(name, (2, 3), seed=i)}, str(path))
    # Every dtype together, with 0-d, empty and non-ASCII names, and metadata.
    mixed = {f"layer.{k.lower()}": torch_tensor(k, (3, 2), seed=100 + i) for i, k in enumerate(TORCH_DTYPES)}
    mixed["scalar"] = torch.tensor(3.5, dtype=torch.float32)
    mixed["empty"] = torch.zeros((0, 4), dtype=torch.float32)
    mixed["名前.weight"] = torch.arange(4, dtype=torch.int32)
    mixed["é\"quote"] = torch.ones(2, dtype=torch.float16)
    save_torch(mixed, str(VALID / "mixed.safetensors"), metadata={"format": "pt", "note": "ünïcode"})

    # npz written by NumPy, stored and deflated.
    rng = np.random.default_rng(7)
    arrays = {}
    for descr in NUMPY_DTYPES:
        dt = np.dtype(descr)
        if dt.kind == "b":
            arrays[f"a_{descr[1:]}"] = rng.random((2, 3)) > 0.5
        elif dt.kind == "f":
            a = (rng.standard_normal((2, 3)) * 100).astype(dt)
            a.flat[1], a.flat[2], a.flat[3] = np.inf, -np.inf, np.nan
            arrays[f"a_{descr[1:]}"] = a
        else:
            info = np.iinfo(dt)
            arrays[f"a_{descr[1:]}"] = rng.integers(info.min, info.max, size=(2, 3), dtype=dt, endpoint=True)
    arrays["scalar"] = np.array(2.25, dtype=np.float64)
    arrays["empty"] = np.zeros((3, 0), dtype=np.float32)
    arrays["größe"] = np.arange(5, dtype=np.int64)
    np.savez(VALID / "arrays.npz", **arrays)
    np.savez_compressed(VALID / "arrays_compressed.npz", **arrays)
    # Big-endian and Fortran-order arrays.
    np.savez(VALID / "bigendian.npz", **{f"be_{d}": np.arange(6, dtype=np.dtype(">" + d)).reshape(2, 3) * 3 - 5
                                          for d in ["f2", "f4", "f8", "i2", "i4", "i8", "u2", "u4", "u8"]})
    np.savez(VALID / "fortran.npz",
             m23=np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
             m234=np.asfortranarray(np.arange(24, dtype=np.int16).reshape(2, 3, 4)),
             be_m32=np.asfortranarray(np.arange(6, dtype=">f8").reshape(3, 2)))
    # .npy header versions 2.0 and 3.0 (3.0: a UTF-8 header).
    with zipfile.ZipFile(VALID / "versions.npz", "w") as z:
        for version, name in [((1, 0), "v1"), ((2, 0), "v2"), ((3, 0), "v3")]:
            with z.open(name + ".npy", "w") as f:
                np.lib.format.write_array(f, np.arange(4, dtype=np.float32) + version[0], version=version)
    # bf16 through ml_dtypes: NumPy saves it as a 2-byte void.
    np.savez(VALID / "bf16.npz", w=np.array([1.0, -2.5, 3.140625], dtype=ml_dtypes.bfloat16))

    # A sharded checkpoint as transformers writes it.
    shard_dir = VALID / "sharded"
    shard_dir.mkdir()
    state = {f"h.{i}.weight": torch_tensor("F32", (4, 4), seed=200 + i) for i in range(5)}
    state["wte.weight"] = torch_tensor("F32", (8, 4), seed=300)
    shards = [dict(list(state.items())[:3]), dict(list(state.items())[3:])]
    weight_map = {}
    for k, shard in enumerate(shards):
        name = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
        save_torch(shard, str(shard_dir / name), metadata={"format": "pt"})
        weight_map.update({key: name for key in shard})
    total = sum(t.numel() * t.element_size() for t in state.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (shard_dir / "model.safetensors.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")

    for path in sorted(VALID.glob("*.safetensors")):
        expected[path.name] = describe_safetensors(path)
    for path in sorted(VALID.glob("*.npz")):
        expected[path.name] = describe_npz(path)
    expected["sharded/model.safetensors.index.json"] = [
        t for shard in sorted(shard_dir.glob("*.safetensors")) for t in describe_safetensors(shard)]
    (VALID / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- malformed files

def st_bytes(header, data=b"", pad=True, raw_header=None):
    text = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(name="w", shape=(2,), offsets=(0, 8)):
    return {name: {"dtype": "F32", "shape": list(shape), "data_offsets": list(offsets)}}


def npy(array=None, raw=None, version=(1, 0)):
    if raw is not None:
        return raw
    import io
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=version, allow_pickle=True)
    return buf.getvalue()


def npz_bytes(members, method=zipfile.ZIP_STORED):
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, data in members:
            z.writestr(name, data)
    return bytearray(buf.getvalue())


def eocd(data):
    return data.rindex(b"PK\x05\x06")


def central(data):
    return data.index(b"PK\x01\x02")


def write_malformed():
    cases = {}

    def add(name, content, message):
        (BAD / name).write_bytes(bytes(content))
        cases[name] = message

    good = np.arange(4, dtype=np.float32)
    # --- safetensors
    add("st_too_short.safetensors", b"\x10\x00\x00",
        "file is 3 bytes, too short for the 8-byte header length of a safetensors file")
    add("st_header_past_end.safetensors", struct.pack("<Q", 1000) + b"{}",
        "header length 1000 runs past the end of the 10-byte file (truncated?)")
    add("st_header_absurd.safetensors", struct.pack("<Q", 1 << 40) + b"{}      ",
        "header length 1099511627776 exceeds the 100 MB limit (not a safetensors file, or a corrupted one)")
    add("st_invalid_json.safetensors", st_bytes(None, raw_header=b'{"w": {"dtype": "F32",'),
        "header is not valid JSON: invalid JSON at byte 24: expected a string key")
    add("st_header_not_utf8.safetensors", st_bytes(None, raw_header=b'{"\xff": 1}'), "header is not valid UTF-8")
    add("st_header_not_object.safetensors", st_bytes(None, raw_header=b"[1, 2]"), "header is not a JSON object")
    add("st_unknown_dtype.safetensors",
        st_bytes({"w": {"dtype": "F7", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
        "tensor 'w': unknown dtype 'F7'")
    add("st_overlapping_offsets.safetensors",
        st_bytes({**f32("a", (2,), (0, 8)), **f32("b", (2,), (4, 12))}, b"\0" * 12),
        "tensor 'b': data at 4 overlaps tensor 'a', which ends at 8")
    add("st_offsets_past_end.safetensors", st_bytes(f32("w", (4,), (0, 16)), b"\0" * 8),
        "tensor 'w': data ends at 16, past the end of the 8-byte data area (truncated?)")
    add("st_gap.safetensors", st_bytes({**f32("a", (1,), (0, 4)), **f32("b", (1,), (8, 12))}, b"\0" * 12),
        "tensor 'b': data starts at 8 but the previous tensor ends at 4 (gap in the data area)")
    add("st_shape_mismatch.safetensors", st_bytes(f32("w", (2, 2), (0, 12)), b"\0" * 12),
        "tensor 'w': F32 [2, 2] needs 16 bytes but data_offsets span 12")
    add("st_trailing_data.safetensors", st_bytes(f32("w", (2,), (0, 8)), b"\0" * 16),
        "tensors cover 8 bytes but the data area holds 16")
    add("st_reversed_offsets.safetensors", st_bytes(f32("w", (0,), (8, 4)), b"\0" * 8),
        "tensor 'w': data_offsets [8, 4] end before they begin")
    add("st_metadata_not_strings.safetensors", st_bytes({"__metadata__": {"a": 1}, **f32()}, b"\0" * 8),
        "__metadata__ must map strings to strings")
    add("st_missing_dtype.safetensors", st_bytes({"w": {"shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
        "tensor 'w': missing or non-string 'dtype'")
    add("st_negative_shape.safetensors",
        st_bytes({"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8),
        "tensor 'w': 'shape' must hold non-negative integers")
    add("st_duplicate_tensor.safetensors",
        st_bytes(None, raw_header=b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                  b'"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', data=b"\0" * 8),
        "tensor 'w' is listed twice in the header")
    add("st_shape_overflow.safetensors",
        st_bytes({"w": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 8]}}, b"\0" * 8),
        "tensor 'w': shape is too large to address")

    # --- npz (zip container)
    stored = npz_bytes([("w.npy", npy(good))])
    deflated = npz_bytes([("w.npy", npy(np.arange(64, dtype=np.float32)))], zipfile.ZIP_DEFLATED)

    bad = bytearray(deflated)
    c = central(bad)
    bad[c + 16:c + 20] = struct.pack("<I", struct.unpack("<I", bad[c + 16:c + 20])[0] ^ 0xDEADBEEF)
    bad[14:18] = bad[c + 16:c + 20]
    declared = struct.unpack("<I", bad[c + 16:c + 20])[0]
    actual = zlib.crc32(npy(np.arange(64, dtype=np.float32)))
    add("npz_bad_crc.npz", bad, f"member 'w.npy': CRC-32 is 0x{actual:08x} but the archive says 0x{declared:08x} (corrupted data)")

    bad = bytearray(stored)
    data_at = 30 + len("w.npy") + struct.unpack("<H", bad[28:30])[0]
    bad[data_at + 130] ^= 0xFF  # a byte of the array data (the .npy header is 128 bytes)
    c = central(bad)
    declared = struct.unpack("<I", bad[c + 16:c + 20])[0]
    actual = zlib.crc32(bytes(bad[data_at:data_at + len(npy(good))]))
    add("npz_stored_bad_crc.npz", bad, f"member 'w.npy': CRC-32 is 0x{actual:08x} but the archive says 0x{declared:08x} (corrupted data)")

    # Truncated deflate stream: keep the structure valid but cut the compressed data short.
    member = npy(np.random.default_rng(1).standard_normal(256).astype(np.float32))
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = comp.compress(member) + comp.flush()
    cut = stream[:len(stream) // 2]
    add("npz_truncated_deflate.npz", handmade_zip("w.npy", cut, method=8, crc=zlib.crc32(member), size=len(member)),
        "member 'w.npy': deflate stream is damaged (the stream ends before its last block (truncated))")

    bad = bytearray(stored)
    e = eocd(bad)
    size, offset = struct.unpack("<II", bad[e + 12:e + 20])
    bad[e + 12:e + 20] = struct.pack("<II", size - 1, offset + 1)
    add("npz_wrong_cd_offset.npz", bad, f"no central directory header at offset {offset + 1} (wrong central-directory offset?)")

    bad = bytearray(stored)
    e = eocd(bad)
    bad[e + 16:e + 20] = struct.pack("<I", 1 << 30)
    add("npz_cd_out_of_range.npz", bad,
        f"central directory (offset {1 << 30}, {struct.unpack('<I', bad[e + 12:e + 16])[0]} bytes) lies outside the {len(bad)}-byte file")

    add("npz_truncated.npz", stored[:len(stored) // 2],
        "not a zip archive: no end-of-central-directory record (truncated or not an .npz?)")

    # zip64 extra fields that lie: a stored member claiming 2^40 bytes.
    member = npy(good)
    add("npz_lying_zip64_size.npz",
        handmade_zip("w.npy", member, method=0, crc=zlib.crc32(member), size=1 << 40, compressed=1 << 40, zip64=True),
        "member 'w.npy': data runs past the end of the archive's data (truncated or lying sizes)")
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    small = comp.compress(member) + comp.flush()
    add("npz_implausible_inflated_size.npz",
        handmade_zip("w.npy", small, method=8, crc=zlib.crc32(member), size=1 << 40, zip64=True),
        f"member 'w.npy' declares {1 << 40} bytes from {len(small)} compressed bytes, more than deflate can produce")
    add("npz_deflate_size_lie.npz",
        handmade_zip("w.npy", small, method=8, crc=zlib.crc32(member), size=len(member) + 64),
        f"member 'w.npy': .npy header declares 16 data bytes but the array holds 80")
    add("npz_missing_zip64_extra.npz",
        handmade_zip("w.npy", member, method=0, crc=zlib.crc32(member), size=0xFFFFFFFF, compressed=0xFFFFFFFF),
        "member 'w.npy': zip64 extra field is missing or too short")

    bad = bytearray(stored)
    bad[6:8] = struct.pack("<H", 1)  # encrypted flag in the local header
    c = central(bad)
    bad[c + 8:c + 10] = struct.pack("<H", 1)
    add("npz_encrypted.npz", bad, "member 'w.npy' is encrypted")

    bad = bytearray(stored)
    c = central(bad)
    bad[c + 10:c + 12] = struct.pack("<H", 12)  # bzip2
    add("npz_unsupported_method.npz", bad,
        "member 'w.npy' uses compression method 12; only stored (0) and deflate (8) are supported")

    add("npz_not_npy_member.npz", npz_bytes([("notes.txt", b"hello")]), "member 'notes.txt' is not a .npy array")
    add("npz_duplicate_member.npz", npz_bytes_dupe(npy(good)), "member 'w.npy' appears twice")

    bad = bytearray(stored)
    e = eocd(bad)
    bad[e + 10:e + 12] = struct.pack("<H", 2)
    add("npz_count_mismatch.npz", bad, "end record declares 2 members but the central directory holds 1")

    # --- .npy inside npz
    add("npy_bad_magic.npz", npz_bytes([("w.npy", b"\x93NUMPX" + npy(good)[6:])]),
        "member 'w.npy': not a .npy array: bad magic bytes")
    add("npy_bad_version.npz", npz_bytes([("w.npy", npy(good)[:6] + b"\x04\x00" + npy(good)[8:])]),
        "member 'w.npy': .npy format version 4.0 is not supported (1.0, 2.0 and 3.0 are)")
    header = b"{'descr': '<f4', 'fortran_order': False, }"
    add("npy_bad_header.npz", npz_bytes([("w.npy", npy_raw(header) + good.tobytes())]),
        "member 'w.npy': malformed .npy header: must hold 'descr', 'fortran_order' and 'shape'")
    add("npy_header_garbage.npz", npz_bytes([("w.npy", npy_raw(b"{'descr': __import__('os'), }") + good.tobytes())]),
        "member 'w.npy': malformed .npy header: expected a string")
    add("npy_object_dtype.npz", npz_bytes([("w.npy", npy(np.array([{"a": 1}, None], dtype=object)))]),
        "member 'w.npy': object arrays (dtype 'O') hold pickled Python objects and are refused; save numeric arrays instead")
    add("npy_complex_dtype.npz", npz_bytes([("w.npy", npy(np.zeros(2, dtype=np.complex64)))]),
        "member 'w.npy': unsupported .npy dtype '<c8'")
    add("npy_structured_dtype.npz", npz_bytes([("w.npy", npy(np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")])))]),
        "member 'w.npy': unsupported .npy dtype 'structured (record) dtype'")
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }"
    add("npy_declared_larger_than_data.npz", npz_bytes([("w.npy", npy_raw(header) + good.tobytes())]),
        "member 'w.npy': .npy header declares 4000 data bytes but the array holds 16")
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"
    add("npy_shape_overflow.npz", npz_bytes([("w.npy", npy_raw(header) + good.tobytes())]),
        "member 'w.npy': .npy shape is too large to address")
    add("npy_truncated_header.npz", npz_bytes([("w.npy", npy(good)[:40])]),
        "member 'w.npy': .npy header needs 128 bytes but only 40 are present (truncated)")

    # --- sharded index
    shard_src = VALID / "sharded"
    for name, mutate, message in [
        ("index_missing_shard", lambda m: m.update({"extra.weight": "model-00009-of-00009.safetensors"}),
         None),
        ("index_unsafe_name", lambda m: m.update({"h.0.weight": "../model-00001-of-00002.safetensors"}),
         "shard name '../model-00001-of-00002.safetensors' must be a file name in the index's directory"),
        ("index_wrong_shard", lambda m: m.update({"h.0.weight": "model-00002-of-00002.safetensors"}),
         "weight_map puts 'h.0.weight' in model-00002-of-00002.safetensors, which does not hold it"),
    ]:
        d = BAD / name
        d.mkdir()
        for shard in shard_src.glob("*.safetensors"):
            shutil.copy(shard, d / shard.name)
        index = json.loads((shard_src / "model.safetensors.index.json").read_text())
        mutate(index["weight_map"])
        (d / "model.safetensors.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
        cases[f"{name}/model.safetensors.index.json"] = message or {
            "file": f"{name}/model-00009-of-00009.safetensors", "message": "cannot open: No such file or directory"}

    (BAD / "expected.json").write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")


def npy_raw(header):
    header = header + b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def npz_bytes_dupe(member):
    import io
    import warnings
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("w.npy", member)
            z.writestr("w.npy", member)
    return buf.getvalue()


def handmade_zip(name, data, method, crc, size, compressed=None, zip64=False):
    """A one-member zip with exactly the header values given (so they can lie)."""
    compressed = len(data) if compressed is None else compressed
    name_b = name.encode()
    extra = struct.pack("<HHQQ", 1, 16, size, compressed) if zip64 else b""
    c32 = 0xFFFFFFFF if zip64 else compressed
    s32 = 0xFFFFFFFF if zip64 else size
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0x21, crc, c32, s32, len(name_b), len(extra)) + name_b + extra
    cd = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, 0, 0x21, crc, c32, s32, len(name_b),
                     len(extra), 0, 0, 0, 0, 0) + name_b + extra
    body = local + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), len(body), 0)
    return body + cd + end


# ---------------------------------------------------------------- float conversion pins

def sweep32():
    i = np.arange(1 << 20, dtype=np.uint64)
    hashed = ((i * 2654435761) & 0xFFFFFFFF).astype(np.uint32)
    e = np.arange(256, dtype=np.uint32)[:, None]
    m = np.array([0, 1, 0xFFF, 0x1000, 0x1001, 0x2FFF, 0x3000, 0x3001, 0x7FFFFF, 0x7FF000, 0x7FE000,
                  0x400000, 0x401000, 0xFFF, 0x2000, 0x6000, 0x7FFF, 0x8000, 0x8001, 0x18000], dtype=np.uint32)[None, :]
    edges = ((e << 23) | m).reshape(-1)
    edges = np.concatenate([edges, edges | np.uint32(0x80000000)])
    return np.concatenate([hashed, edges])


def sweep64():
    i = np.arange(1 << 18, dtype=np.uint64)
    return i * np.uint64(0x9E3779B97F4A7C15)


def crc(a):
    return zlib.crc32(np.ascontiguousarray(a).tobytes())


def write_float_pins():
    bits32 = sweep32()
    f = bits32.view(np.float32)
    not_nan = ~np.isnan(f)
    halves = np.arange(1 << 16, dtype=np.uint16)
    bits64 = sweep64()
    d = bits64.view(np.float64)
    f8 = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    with np.errstate(all="ignore"):
        pins = {
            "sweep32_count": int(len(bits32)),
            "f32_to_f16_numpy": crc(f.astype(np.float16)),
            "f32_to_bf16_torch_non_nan": crc(torch.from_numpy(f[not_nan].copy()).to(torch.bfloat16).view(torch.int16).numpy()),
            "f16_to_f32_numpy_all": crc(halves.view(np.float16).astype(np.float32)),
            "sweep64_count": int(len(bits64)),
            "f64_to_f16_numpy": crc(d.astype(np.float16)),
            "f64_to_f32_numpy": crc(d.astype(np.float32)),
            "f64_to_bf16_torch_non_nan": crc(torch.from_numpy(d[~np.isnan(d)].copy()).to(torch.bfloat16).view(torch.int16).numpy()),
            "e4m3_to_f32_torch": crc(f8.view(torch.float8_e4m3fn).to(torch.float32).numpy()),
            "e5m2_to_f32_torch": crc(f8.view(torch.float8_e5m2).to(torch.float32).numpy()),
        }
    (ROOT / "float_conversions.json").write_text(json.dumps(pins, indent=1) + "\n")


def main():
    if ROOT.exists():
        shutil.rmtree(ROOT)
    VALID.mkdir(parents=True)
    BAD.mkdir(parents=True)
    write_valid()
    write_malformed()
    write_float_pins()
    print(f"wrote {sum(1 for _ in ROOT.rglob('*') if _.is_file())} files under {ROOT}")


if __name__ == "__main__":
    main()
