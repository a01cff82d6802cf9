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


def run_with_peak_rss(cmd):
    """Runs `cmd` under /usr/bin/time; returns (its stdout, its peak resident bytes)."""
    out = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", *cmd], check=True, capture_output=True, text=True)
    return out.stdout, int(out.stderr.strip().splitlines()[-1].removeprefix("maxrss_kb=")) * 1024
