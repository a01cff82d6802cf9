"""What a benchmark ran on, as `ckpt system --json` reports it (the CPU and ckpt's f32 engine), and
the peak memory of a process it ran."""
import json
import subprocess


def describe(ckpt):
    """Prints the CPU and ckpt's f32 engine and kernel as a table's header; returns (the system report, its f32 entry)."""
    system = json.loads(subprocess.run([ckpt, "system", "--json"], check=True, capture_output=True, text=True).stdout)
    f32 = system["precisions"]["f32"]
    print(f"CPU: {system['cpu']['model']} ({system['cpu']['cores']} cores); ckpt engine: {f32['engine']} ({f32['kernel']})")
    return system, f32


def peer_runs_bf16(system):
    """Whether PyTorch's bf16 autocast is a route worth timing here: only where the CPU multiplies
    bf16 natively (ckpt's system report says so when its engine does). Elsewhere PyTorch emulates
    it, several times slower than its f32 (7.3 against 49 sentences/s on an AMD EPYC Zen 1), so it
    is not the peer's best route and only takes the benchmark's time."""
    native = system["precisions"]["bf16"]["native"]
    if not native:
        print("PyTorch bf16 autocast not timed: this CPU has no native bf16 products, so f32 is the peer's best route")
    return native


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
