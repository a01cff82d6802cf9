#!/usr/bin/env python3
"""Writes fixtures/pytorch/: checkpoints saved with torch.save (the zip format of PyTorch >= 1.6), the
reference conversion of each, and malicious pickles that must be refused without running anything.

  bert/                  the tiny BertModel of fixtures/bert/bertmodel as pytorch_model.bin (float32)
  gpt2/                  the tiny GPT-2 of fixtures/gpt2/lmhead as pytorch_model.bin (float16), with
                         lm_head.weight sharing wte's storage (tied, as GPT2LMHeadModel.state_dict() is)
  bert-sharded/          the BERT state dict in two .bin shards with pytorch_model.bin.index.json
  formats/NAME.bin       bert-f16, bert-bf16 (model.half() / .bfloat16()); views (a transposed tensor,
                         a row slice with a storage offset, shared storages, integer, bool, 0-d and
                         empty tensors); nested-model ({"model": sd, "epoch": 3}); nested-state-dict
                         ({"state_dict": sd, "optimizer": {...}}); protocol4, protocol5 (pickle_protocol);
                         parameter (nn.Parameter values); big-endian (byteorder "big", storages swapped);
                         deflated (data.pkl and storages deflate-compressed); no-crc32 (saved with
                         compute_crc32 = False: every CRC 0)
  formats/NAME.reference.safetensors
                         safetensors.torch.save_file of torch.load(NAME.bin)'s state dict (each tensor
                         cloned contiguous, since save_file refuses views and shared storages)
  legacy.bin             torch.save(..., _use_new_zipfile_serialization=False): the pre-1.6 format
  malicious/NAME.bin     pickles that run code or exhaust memory when loaded with weights_only=False;
  malicious/expected.json  the error fragment ckpt must print for each
  fuzz-found/            (kept, not written here) pickles the fuzzer found, for the regression test

Malicious files write the canary file `ckpt-canary` in the working directory when run; this script
checks that the os.system one really does (with torch.load(weights_only=False)) and removes it.

    python tools/make_pytorch_fixtures.py
"""
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "fixtures" / "pytorch"
CANARY = "ckpt-canary"


def reference(state_dict, path):
    save_file({k: v.clone().contiguous() for k, v in state_dict.items()}, str(path))


def link(source, directory, name=None):
    target = directory / (name or source.name)
    os.symlink(os.path.relpath(source, directory), target)


def model_directories():
    bert = ROOT / "bert"
    bert.mkdir()
    shutil.copy(REPO / "fixtures/bert/bertmodel/config.json", bert)

    bert_state = load_file(REPO / "fixtures/bert/bertmodel/model.safetensors")
    torch.save(bert_state, bert / "pytorch_model.bin")

    sharded = ROOT / "bert-sharded"
    sharded.mkdir()
    shutil.copy(REPO / "fixtures/bert/bertmodel/config.json", sharded)
    names = sorted(bert_state)
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    weight_map = {}
    for i, half in enumerate(halves):
        shard = f"pytorch_model-0000{i + 1}-of-00002.bin"
        torch.save({k: bert_state[k] for k in half}, sharded / shard)
        weight_map.update({k: shard for k in half})
    index = {"metadata": {"total_size": sum(v.numel() * v.element_size() for v in bert_state.values())},
             "weight_map": weight_map}
    (sharded / "pytorch_model.bin.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")

    gpt2 = ROOT / "gpt2"
    gpt2.mkdir()
    shutil.copy(REPO / "fixtures/gpt2/lmhead/config.json", gpt2)
    for file in ["vocab.json", "merges.txt"]:
        link(REPO / "fixtures/tokenizers/gpt2" / file, gpt2)
    gpt2_state = load_file(REPO / "fixtures/gpt2/lmhead/model.safetensors")
    gpt2_state["lm_head.weight"] = gpt2_state["transformer.wte.weight"]  # same tensor: one storage
    torch.save(gpt2_state, gpt2 / "pytorch_model.bin")


def view_tensors():
    torch.manual_seed(0)
    base = torch.randn(6, 5)
    shared = torch.randn(4, 3)
    return OrderedDict([
        ("transposed", base.t()),                   # strides (1, 5): materialised
        ("row_slice", base[2:4]),                   # storage offset 10, contiguous
        ("column", base[:, 1]),                     # offset 1, stride 5
        ("base", base),
        ("tied.a", shared),
        ("tied.b", shared),                         # the same tensor twice
        ("tied.view", shared.view(12)),             # another shape over the same storage
        ("int64", torch.arange(7, dtype=torch.int64) - 3),
        ("int32", torch.tensor([[1, -2], [3, 2**31 - 1]], dtype=torch.int32)),
        ("int8", torch.tensor([-128, 0, 127], dtype=torch.int8)),
        ("uint8", torch.tensor([0, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
        ("f64", torch.randn(3, dtype=torch.float64)),
        ("f16", torch.randn(2, 3).half()),
        ("scalar", torch.tensor(3.5)),
        ("empty", torch.zeros(0, 4)),
        ("position_ids", torch.arange(8).expand((1, -1))),  # stride 0 on a dimension of size 1
    ])


def rewrite_zip(source, destination, transform):
    """Copies a torch.save zip member by member through transform(name, data) -> (data, compress)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(destination, "w") as dst:
        for info in src.infolist():
            data, compress = transform(info.filename, src.read(info.filename))
            dst.writestr(info.filename, data, zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)


def byteswapped_storages(state_dict, path):
    """A big-endian file: storages rewritten with each element's bytes reversed, byteorder "big"."""
    little = path.with_suffix(".little")
    torch.save(state_dict, little)
    sizes = {}
    for tensor in state_dict.values():
        sizes[tensor.untyped_storage().data_ptr()] = tensor.element_size()
    element_size = {str(i): size for i, size in enumerate(sizes.values())}

    def transform(name, data):
        if name.endswith("/byteorder"):
            return b"big", False
        if "/data/" in name:
            width = element_size[name.rsplit("/", 1)[1]]
            data = b"".join(data[i:i + width][::-1] for i in range(0, len(data), width))
        return data, False
    rewrite_zip(little, path, transform)
    little.unlink()


def format_files():
    formats = ROOT / "formats"
    formats.mkdir()
    bert = load_file(REPO / "fixtures/bert/bertmodel/model.safetensors")
    views = view_tensors()
    files = {
        "bert-f16": (lambda p: torch.save({k: v.half() for k, v in bert.items()}, p)),
        "bert-bf16": (lambda p: torch.save({k: v.bfloat16() for k, v in bert.items()}, p)),
        "views": (lambda p: torch.save(views, p)),
        "nested-model": (lambda p: torch.save({"model": views, "epoch": 3, "args": {"lr": 0.1}}, p)),
        "nested-state-dict": (lambda p: torch.save({"state_dict": bert, "step": 10,
                                                    "optimizer": {"state": {}, "param_groups": [{"lr": 1e-3}]}}, p)),
        "protocol4": (lambda p: torch.save(views, p, pickle_protocol=4)),
        "protocol5": (lambda p: torch.save(bert, p, pickle_protocol=5)),
        "parameter": (lambda p: torch.save(OrderedDict((k, torch.nn.Parameter(v)) for k, v in list(bert.items())[:4]), p)),
        "big-endian": (lambda p: byteswapped_storages(views, p)),
    }
    for name, write in files.items():
        path = formats / f"{name}.bin"
        write(path)
        loaded = torch.load(path, weights_only=False)
        state = loaded.get("model") or loaded.get("state_dict") or loaded
        reference(state, formats / f"{name}.reference.safetensors")
    # The big-endian file must read as the little-endian original does.
    for name, value in torch.load(formats / "big-endian.bin", weights_only=False).items():
        assert torch.equal(value, views[name]), name

    deflated = formats / "deflated.bin"
    torch.save(bert, deflated.with_suffix(".tmp"))
    rewrite_zip(deflated.with_suffix(".tmp"), deflated, lambda name, data: (data, name.endswith((".pkl", "/0", "/1"))))
    deflated.with_suffix(".tmp").unlink()
    reference(torch.load(deflated, weights_only=False), formats / "deflated.reference.safetensors")

    from torch.utils.serialization import config
    config.save.compute_crc32 = False  # every member's CRC written as 0; torch.load reads it
    torch.save(views, formats / "no-crc32.bin")
    config.save.compute_crc32 = True
    reference(torch.load(formats / "no-crc32.bin", weights_only=False), formats / "no-crc32.reference.safetensors")

    torch.save(bert, ROOT / "legacy.bin", _use_new_zipfile_serialization=False)


class RunsCommand:
    """Pickles as a call of `function(*arguments)`, the way malicious checkpoints do."""

    def __init__(self, function, *arguments):
        self.function, self.arguments = function, arguments

    def __reduce__(self):
        return self.function, self.arguments


def torch_zip(path, pickle_bytes, storages=(), compress_pickle=False):
    """A zip laid out as torch.save lays it out, around a hand-made data.pkl."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle_bytes, zipfile.ZIP_DEFLATED if compress_pickle else zipfile.ZIP_STORED)
        z.writestr("archive/byteorder", "little")
        for key, data in storages:
            z.writestr(f"archive/data/{key}", data)
        z.writestr("archive/version", "3\n")


def int_op(value):
    return b"J" + struct.pack("<i", value) if -2**31 <= value < 2**31 else b"\x8a\x08" + struct.pack("<q", value)


def text_op(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def tensor_pickle(size, stride, numel, offset=0):
    """data.pkl of {"w": tensor} as torch writes it, with the given geometry over storage '0'."""
    def tuple_op(values):
        return b"(" + b"".join(int_op(v) for v in values) + b"t"
    storage = b"(" + text_op("storage") + b"ctorch\nFloatStorage\n" + text_op("0") + text_op("cpu") + int_op(numel) + b"tQ"
    arguments = (b"(" + storage + int_op(offset) + tuple_op(size) + tuple_op(stride) + b"\x89"
                 + b"ccollections\nOrderedDict\n)R" + b"t")
    return b"\x80\x02}(" + text_op("w") + b"ctorch._utils\n_rebuild_tensor_v2\n" + arguments + b"Ru."


def malicious_files():
    directory = ROOT / "malicious"
    directory.mkdir()
    weight = torch.ones(2)
    command = f"touch {CANARY}"
    expected = {}

    def save(name, obj, fragment):
        torch.save(obj, directory / f"{name}.bin")
        expected[f"{name}.bin"] = fragment

    save("os-system", {"weight": weight, "x": RunsCommand(os.system, command)}, "'posix.system'")
    save("eval", {"weight": weight, "x": RunsCommand(eval, f"__import__('os').system('{command}')")}, "'builtins.eval'")
    save("popen", {"weight": weight, "x": RunsCommand(subprocess.Popen, ["touch", CANARY])}, "'subprocess.Popen'")
    save("exec-in-state-dict-key", OrderedDict([(RunsCommand(exec, f"import os; os.system('{command}')"), weight)]),
         "'builtins.exec'")
    save("unknown-global", {"weight": weight, "array": RunsCommand(shutil.rmtree, "/nonexistent-ckpt-dir")},
         "'shutil.rmtree'")
    save("numpy-array", {"weight": weight, "array": __import__("numpy").zeros(3)}, "'numpy.")
    save("getattr-trick", {"weight": weight, "x": RunsCommand(getattr, RunsCommand(__import__, "os"), "system")}, "'builtins.getattr'")
    cycle = {}
    cycle["model"] = cycle
    save("self-reference", cycle, "no state dict")
    looping = []
    looping.append(looping)
    save("cyclic-list", {"state_dict": {"meta": looping}}, "no state dict")

    def raw(name, pickle_bytes, fragment, storages=(), compress=False):
        torch_zip(directory / f"{name}.bin", pickle_bytes, storages, compress)
        expected[f"{name}.bin"] = fragment

    # Ten million one-byte EMPTY_LIST opcodes: deflates to a few kilobytes, would build 10M objects.
    raw("many-objects", b"\x80\x02" + b"]" * 10_000_000 + b".", "more than", compress=True)
    # A tuple nested a million deep (TUPLE1 on TUPLE1 ...): building and freeing it must not recurse.
    raw("deep-nesting", b"\x80\x02)" + b"\x85" * 1_000_000 + b".", "no state dict", compress=True)
    # A string that claims 2^60 bytes.
    raw("huge-string", b"\x80\x04\x8d" + struct.pack("<Q", 1 << 60) + b"abc.", "runs past the end")
    # A tensor of 2^31 x 2^31 elements over a 4-element storage (stride 0: all views of one element).
    raw("huge-tensor", tensor_pickle([2**31, 2**31], [0, 0], 4), "storage", storages=[("0", bytes(16))])
    # A storage that claims 2^40 elements but holds 16 bytes.
    raw("storage-size-lie", tensor_pickle([4], [1], 2**40), "storage", storages=[("0", bytes(16))])
    # A memo index of 2^32 - 1 and a GET of a missing one.
    raw("memo-miss", b"\x80\x02}r\xff\xff\xff\xffj\x00\x00\x00\x01.", "memo")
    (directory / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")


def check_canary_is_live():
    """The os.system fixture really runs its command under an unrestricted unpickler."""
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([sys.executable, "-c", "import torch, sys; torch.load(sys.argv[1], weights_only=False)",
                        str(ROOT / "malicious/os-system.bin")], cwd=work, check=True)
        assert os.path.exists(os.path.join(work, CANARY)), "the os.system pickle did not run its command"


def main():
    ROOT.mkdir(parents=True, exist_ok=True)
    for entry in ROOT.iterdir():  # everything but fuzz-found/, the fuzzer's regression inputs
        if entry.name != "fuzz-found":
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    model_directories()
    format_files()
    malicious_files()
    check_canary_is_live()


if __name__ == "__main__":
    main()
