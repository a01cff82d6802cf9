#!/usr/bin/env python3
"""`ckpt serve` under load against offline `ckpt embed` and against Infinity, in one run:

1. Parity: the official `openai` client (float and base64) and plain HTTP `/embed` against `ckpt embed`'s
   .npy of the same texts — the same float32 bits.
2. Load: 64 concurrent clients (a thread each, one keep-alive connection each) send 2,000 requests of
   1-32 TREC questions each (seeded); every answer is checked against the offline features of its texts
   (0 lost or mismatched answers required); throughput in texts/s against `ckpt bench-embed` on all the
   requests' texts at the same threads; p50 / p99 latency; the server's peak RSS (VmHWM).
3. The same load against Infinity (`infinity_emb v2`, the same model directory, torch on the CPU, the same
   threads; its OpenAI route `/embeddings`), run from its own virtualenv (INFINITY_VENV, default
   ~/.cache/ckpt-infinity-venv: infinity-emb pins numpy, transformers and sentence-transformers versions
   older than tools/requirements.txt's). Its answers are checked by cosine to ckpt's (≥ 0.9999), not bits.

    python tools/bench/serve.py --ckpt .build/release/ckpt --model .cache/models/all-MiniLM-L6-v2 --work .cache/bench
"""
import argparse
import base64
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
THREADS = 2
CLIENTS = 64
REQUESTS = 2000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, path, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server on {port} never became ready")


def peak_rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def load(port, path, key, requests, reference, exact):
    """Sends `requests` (lists of row numbers) from CLIENTS threads; returns (seconds, latencies, failures)."""
    queue = list(enumerate(requests))
    lock = threading.Lock()
    latencies, failures = [], []

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            with lock:
                if not queue:
                    return
                number, rows = queue.pop()
            body = json.dumps({key: [reference["texts"][r] for r in rows], "model": "minilm"})
            start = time.perf_counter()
            try:
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                reply = conn.getresponse()
                data = reply.read()
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    failures.append(f"request {number}: {error}")
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                continue
            elapsed = time.perf_counter() - start
            if reply.status != 200:
                with lock:
                    failures.append(f"request {number}: HTTP {reply.status} {data[:200]!r}")
                continue
            got = np.array([d["embedding"] for d in json.loads(data)["data"]], dtype=np.float32)
            want = reference["features"][rows]
            ok = np.array_equal(got, want) if exact else bool(np.all(np.sum(got * want, 1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1) >= 0.9999))
            with lock:
                latencies.append(elapsed)
                if not ok:
                    failures.append(f"request {number}: features differ")

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, failures


def report(name, seconds, latencies, failures, texts, rss, offline=None):
    lat = np.sort(np.array(latencies))
    rate = texts / seconds
    share = f"{rate / offline:>8.0%}" if offline else f"{'':>8}"
    print(f"{name:<10}{rate:>10.0f}{share}{np.percentile(lat, 50) * 1000:>9.0f}{np.percentile(lat, 99) * 1000:>9.0f}"
          f"{len(failures):>8}{rss / 2**20:>10.0f}")
    for f in failures[:5]:
        print("   ", f)
    return rate, np.percentile(lat, 99)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    describe(args.ckpt)

    texts = [l.split("\t", 1)[1] for l in (ROOT / "fixtures" / "data" / "trec-train.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    (work / "serve-texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    subprocess.run([args.ckpt, "embed", "--model", args.model, "--threads", str(THREADS), "--output", str(work / "serve-texts.npy"),
                    "--force", "--quiet", str(work / "serve-texts.txt")], check=True)
    reference = {"texts": texts, "features": np.load(work / "serve-texts.npy")}
    rng = random.Random(0)
    requests = [[rng.randrange(len(texts)) for _ in range(rng.randint(1, 32))] for _ in range(REQUESTS)]
    total = sum(len(r) for r in requests)
    (work / "serve-load.txt").write_text("\n".join(texts[r] for req in requests for r in req) + "\n", encoding="utf-8")
    offline = json.loads(subprocess.run([args.ckpt, "bench-embed", "--model", args.model, "--threads", str(THREADS), "--repeats", "1",
                                         str(work / "serve-load.txt")], check=True, capture_output=True, text=True).stdout)
    offline_rate = offline["texts"] / offline["seconds"]

    port = free_port()
    server = subprocess.Popen([args.ckpt, "serve", "--model", args.model, "--port", str(port), "--threads", str(THREADS)], stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, "/health")
        # Parity through the official OpenAI client and plain HTTP.
        from openai import OpenAI
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
        sample = list(range(0, 32))
        batch = [texts[i] for i in sample]
        floats = np.array([d.embedding for d in client.embeddings.create(input=batch, model="minilm", encoding_format="float").data], dtype=np.float32)
        raw = client.with_raw_response.embeddings.create(input=batch, model="minilm", encoding_format="base64").http_response.json()
        b64 = np.array([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in raw["data"]])
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("POST", "/embed", json.dumps({"inputs": batch}), {"Content-Type": "application/json"})
        tei = np.array(json.loads(conn.getresponse().read()), dtype=np.float32)
        want = reference["features"][sample]
        print(f"\nparity with `ckpt embed` (32 texts): openai float {np.array_equal(floats, want)}, openai base64 {np.array_equal(b64, want)}, "
              f"TEI /embed {np.array_equal(tei, want)}")

        print(f"\nLoad: {CLIENTS} clients, {REQUESTS} requests of 1-32 texts ({total} texts), {THREADS} threads; offline ckpt embed "
              f"{offline_rate:.0f} texts/s")
        print(f"{'server':<10}{'texts/s':>10}{'offline':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'RSS MB':>10}")
        seconds, latencies, failures = load(port, "/v1/embeddings", "input", requests, reference, exact=True)
        ours, our_p99 = report("ckpt", seconds, latencies, failures, total, peak_rss(server.pid), offline_rate)
    finally:
        server.terminate()
        server.wait()

    venv = Path(os.environ.get("INFINITY_VENV", Path.home() / ".cache" / "ckpt-infinity-venv"))
    if not (venv / "bin" / "infinity_emb").exists():
        print(f"Infinity: not installed in {venv} (make venv installs it)")
        return
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS), INFINITY_ANONYMOUS_USAGE_STATS="0")
    peer = subprocess.Popen([str(venv / "bin" / "infinity_emb"), "v2", "--model-id", str(Path(args.model).resolve()), "--port", str(port),
                             "--engine", "torch", "--device", "cpu", "--no-bettertransformer"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, "/health")
        seconds, latencies, failures = load(port, "/embeddings", "input", requests, reference, exact=False)
        theirs, their_p99 = report("Infinity", seconds, latencies, failures, total, peak_rss(peer.pid))
        print(f"ckpt / Infinity throughput: {ours / theirs:.2f}x; p99 {our_p99 * 1000:.0f} against {their_p99 * 1000:.0f} ms")
    finally:
        peer.terminate()
        peer.wait()


if __name__ == "__main__":
    main()
