"""Arena throughput with a 50 ms judge, and judge calls on a warm-cache rerun.

    python benchmarks/arena_bench.py [--pairs 300] [--latency 0.05] [--concurrency 8]

The judge is the real ``openai`` judge (OpenAI client, retries, parsing) talking to a loopback
OpenAI-compatible server that waits ``--latency`` seconds per request and answers a fixed verdict.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ftlineage.arena import ArenaOptions, VerdictCache, get_judge, run_arena


def slow_server(latency: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # noqa: ANN002
            pass

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(latency)
            body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": "Verdict: FIRST"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    server = slow_server(args.latency)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    cases = [{"id": str(i), "prompt": f"case {i}"} for i in range(args.pairs)]
    cand, base = [f"c{i}" for i in range(args.pairs)], [f"b{i}" for i in range(args.pairs)]
    opts = ArenaOptions(seed=0, candidate_family="llama", concurrency=args.concurrency)
    with tempfile.TemporaryDirectory() as tmp:
        cache = VerdictCache(Path(tmp) / "verdicts.sqlite")
        for label in ("cold", "warm"):
            judge = get_judge("openai", base_url=url, model="m", family="bench", timeout=10)
            start = time.perf_counter()
            r = run_arena(cases, cand, base, judge, opts, cache=cache)
            secs = time.perf_counter() - start
            print(f"{label}: {args.pairs} pairs, judge latency {args.latency * 1000:.0f} ms, concurrency "
                  f"{args.concurrency}: {secs:.2f}s, {r.judge_calls} judge calls, {r.cache_hits} cache hits "
                  f"(serial would take {args.pairs * args.latency:.1f}s)")
        cache.close()
    server.shutdown()


if __name__ == "__main__":
    main()
