"""The canary router's added latency at a fixed request rate on loopback, model time excluded.

    python benchmarks/canary_bench.py [--rate 200] [--seconds 10] [--shadow 0.2]

Two stub workers answer instantly, so what is measured is the router: routing, the worker
hop, fallback bookkeeping, shadow scheduling and judging off the request path. An open-loop
generator sends ``--rate`` requests per second. Printed: the router's own time per request
(the handler minus the time spent waiting for workers, from ``X-Ftlineage-Router-Ms``), and
end-to-end latency through the router vs straight to a worker at the same rate. The
difference between those two includes the extra loopback hop. Target: router p99 <= 2 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time


def serve_router(port: int, champion: str, challenger: str, split: float, shadow: float) -> None:
    """(subprocess) The real service over stub workers."""
    import uvicorn

    from ftlineage.canary import Monitor, Router
    from ftlineage.canary._service import CanaryService, build_app

    class Quiet:
        def record(self, status, pair=None):  # noqa: ANN001, ANN201
            pass

        rollback = promote = record

    service = CanaryService(Router(split=split, shadow=shadow), {"champion": champion, "challenger": challenger},
                            "rubric", Monitor(), Quiet())
    try:
        uvicorn.run(build_app(service), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    finally:
        service.close()


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


async def _load(url: str, rate: float, seconds: float) -> tuple[list[float], list[float]]:
    import httpx

    lat, own = [], []
    body = {"messages": [{"role": "user", "content": "Caller: Hi, this is Ana Ruiz, about a rash."}]}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        async def one(i: int) -> None:
            start = time.perf_counter()
            resp = await client.post(url, json={**body, "user": f"u{i}", "inputs": ["x"]})
            lat.append((time.perf_counter() - start) * 1000)
            if "x-ftlineage-router-ms" in resp.headers:
                own.append(float(resp.headers["x-ftlineage-router-ms"]))

        tasks, t0 = [], time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return lat, own


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--shadow", type=float, default=0.2)
    parser.add_argument("--split", type=float, default=0.1)
    parser.add_argument("--serve-router", nargs=3, metavar=("PORT", "CHAMPION", "CHALLENGER"))
    args = parser.parse_args()
    if args.serve_router:
        port, champion, challenger = args.serve_router
        serve_router(int(port), champion, challenger, args.split, args.shadow)
        return
    from ftlineage.canary._serve import free_port, start_worker

    ports = [free_port() for _ in range(3)]
    workers = [start_worker(["--stub"], p) for p in ports[:2]]
    urls = [f"http://127.0.0.1:{p}" for p in ports[:2]]
    router = subprocess.Popen([sys.executable, __file__, "--split", str(args.split), "--shadow", str(args.shadow),
                               "--serve-router", str(ports[2]), *urls])
    try:
        import httpx

        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{ports[2]}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        asyncio.run(_load(f"http://127.0.0.1:{ports[2]}/v1/chat/completions", args.rate, 1.0))  # warm-up
        direct, _ = asyncio.run(_load(f"{urls[0]}/predict", args.rate, args.seconds))
        routed, own = asyncio.run(_load(f"http://127.0.0.1:{ports[2]}/v1/chat/completions", args.rate, args.seconds))
    finally:
        router.terminate()
        for w in workers:
            w.terminate()
    n = len(routed)
    print(f"{n} requests at {args.rate:.0f}/s over {args.seconds:.0f} s, split {args.split}, shadow {args.shadow}")
    print(f"router's own time per request:      p50 {statistics.median(own):6.3f} ms   p99 {_pct(own, 0.99):6.3f} ms "
          "(target p99 <= 2 ms)")
    print(f"end to end through the router:      p50 {statistics.median(routed):6.2f} ms   p99 {_pct(routed, 0.99):6.2f} ms")
    print(f"end to end straight to a worker:    p50 {statistics.median(direct):6.2f} ms   p99 {_pct(direct, 0.99):6.2f} ms")
    print(f"added by the router (difference):   p50 {statistics.median(routed) - statistics.median(direct):6.2f} ms   "
          f"p99 {_pct(routed, 0.99) - _pct(direct, 0.99):6.2f} ms")


if __name__ == "__main__":
    main()
