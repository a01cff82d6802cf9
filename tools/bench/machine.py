"""What a benchmark ran on, as `ckpt system --json` reports it (the CPU and ckpt's f32 engine), and
the peak memory of a process it ran, and the real text the tokenizer and feature benchmarks share."""
import json
import subprocess
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def describe(ckpt):
    """Prints the CPU and ckpt's f32 engine and kernel as a table's header; returns (the system report, its f32 entry)."""
    system = json.loads(subprocess.run([ckpt, "system", "--json"], check=True, capture_output=True, text=True).stdout)
    f32 = system["precisions"]["f32"]
    print(f"CPU: {system['cpu']['model']} ({system['cpu']['cores']} cores); ckpt engine: {f32['engine']} ({f32['kernel']})")
    return system, f32


BF16_ROUTES = ("bf16-autocast", "bf16-weights")
"""PyTorch's two bf16 routes: `torch.autocast("cpu", dtype=torch.bfloat16)` over the f32 model (each
product's f32 operands cast to bf16 as it runs, norms and softmax in f32), and the model's weights
in bf16 (`model.to(torch.bfloat16)`: every op on bf16 tensors, nothing cast at run time). Either can
be the faster; a benchmark times both and holds ckpt against the faster."""


def torch_routes(system):
    """The PyTorch routes worth timing here: f32, and the bf16 routes only where the CPU multiplies
    bf16 natively (ckpt's system report says so when its engine does). Elsewhere PyTorch emulates
    bf16: autocast ran several times slower than its f32 there (7.3 against 49 sentences/s on an
    AMD EPYC Zen 1), so f32 is taken as the peer's best route. (The weights route has not been timed
    on such a CPU.)"""
    if not system["precisions"]["bf16"]["native"]:
        print("PyTorch bf16 not timed: this CPU has no native bf16 products, so f32 is the peer's best route")
        return ("f32",)
    return ("f32",) + BF16_ROUTES


def fastest(rates, routes=BF16_ROUTES):
    """The fastest of `routes` timed in `rates` (route → rate), as (route, rate), or (None, None)
    where none was timed. By default PyTorch's bf16 routes."""
    timed = [(route, rates[route]) for route in routes if rates.get(route)]
    return max(timed, key=lambda item: item[1]) if timed else (None, None)


def rate(value, width, spec):
    """A figure in its column, or a dash where the route was not timed (None)."""
    return f"{value:{width}{spec}}" if value is not None else f"{'-':>{width}}"


def ratio(ours, theirs, width=7):
    """ours / theirs as "1.23x" in its column, or a dash where theirs was not timed."""
    return f"{ours / theirs:{width - 1}.2f}x" if theirs is not None else f"{'-':>{width}}"


def run_with_peak_rss(cmd):
    """Runs `cmd` under /usr/bin/time; returns (its stdout, its peak resident bytes)."""
    out = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", *cmd], check=True, capture_output=True, text=True)
    return out.stdout, int(out.stderr.strip().splitlines()[-1].removeprefix("maxrss_kb=")) * 1024


def real_text(work):
    """≥10 MB of real text: the Python standard library's sources (code and prose), the TREC questions."""
    path = work / "real-text.txt"
    if not path.exists():
        parts = [(ROOT / "fixtures" / "data" / "trec-train.tsv").read_text(encoding="utf-8")]
        size = len(parts[0])
        for file in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
            if "test" in file.parts:
                continue
            try:
                text = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            parts.append(text)
            size += len(text.encode())
            if size > 10_500_000:
                break
        partial = path.with_suffix(".partial")
        partial.write_text("".join(parts), encoding="utf-8")
        partial.replace(path)  # an interrupted run leaves no short file to be reused
    return path
