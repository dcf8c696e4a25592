"""The Jobs pages' latency with a long history: `python bench/bench_pages.py [--runs 1000] [--clients 50]`.

Writes a history of `--runs` runs of one four-task job (through `History`, as the runner
writes it; no kernels), serves it with the real server (uvicorn in a thread, on
127.0.0.1), then prints per page the median and 95th percentile of sequential requests,
and the same pages under `--clients` concurrent clients. The run page should answer in
well under 100 ms with 1,000 runs in the history.
"""
from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "server"))

from course.platform import paths  # noqa: E402
from course.server.serving import BackgroundServer  # noqa: E402
from course.server.state import ServerState  # noqa: E402
from pages_seed import seed  # noqa: E402


def timed(client: httpx.Client, url: str) -> float:
    began = time.perf_counter()
    reply = client.get(url)
    reply.raise_for_status()
    return (time.perf_counter() - began) * 1000


def figures(ms: list[float]) -> str:
    ms = sorted(ms)
    return f"median {statistics.median(ms):6.1f} ms   p95 {ms[int(len(ms) * 0.95) - 1]:6.1f} ms   max {ms[-1]:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="sequential requests per page")
    parser.add_argument("--nodelay", action="store_true",
                        help="set TCP_NODELAY on the server's socket: small replies then skip the ~40 ms "
                             "Nagle / delayed-ACK stall seen on loopback")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        home = Path(tmp)
        began = time.perf_counter()
        seeded = seed(home, runs=args.runs)
        print(f"history: {args.runs} runs x 4 tasks written in {time.perf_counter() - began:.1f} s")
        pages = {
            "run page (failed run)": f"/runs/{seeded.failed_run}",
            "run page (repaired run)": f"/runs/{seeded.repaired_run}",
            "job page (matrix of 20 runs)": f"/jobs/{seeded.job_id}",
            "jobs list": "/jobs",
            "task run page": f"/task-runs/{seeded.failed_task_run}",
        }
        with paths.using_home(home):
            server = BackgroundServer(ServerState.open(home)).start()
            if args.nodelay:   # accepted connections inherit the listening socket's option
                server.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            print(f"server socket TCP_NODELAY: {'on' if args.nodelay else 'as the server sets it'}")
            try:
                cookies = {"day7_token": server.state.token}
                with httpx.Client(base_url=server.host, cookies=cookies, timeout=60) as client:
                    for url in pages.values():
                        timed(client, url)   # warm: templates compiled, imports done
                    print(f"\nsequential, {args.requests} requests each:")
                    for name, url in pages.items():
                        print(f"  {name:30s} {figures([timed(client, url) for _ in range(args.requests)])}")
                    began = time.perf_counter()
                    timed(client, f"/task-runs/{seeded.failed_task_run}/notebook")
                    print(f"  {'notebook (nbconvert, cached)':30s} first {(time.perf_counter() - began) * 1000:.0f} ms,"
                          f" then {figures([timed(client, f'/task-runs/{seeded.failed_task_run}/notebook') for _ in range(10)])}")
                url = pages["run page (failed run)"]
                per_client = 10
                print(f"\n{args.clients} concurrent clients, {per_client} run page requests each:")
                with ThreadPoolExecutor(args.clients) as pool:
                    def one_client(_: int) -> list[float]:
                        with httpx.Client(base_url=server.host, cookies=cookies, timeout=120) as c:
                            return [timed(c, url) for _ in range(per_client)]
                    began = time.perf_counter()
                    results = [ms for batch in pool.map(one_client, range(args.clients)) for ms in batch]
                    wall = time.perf_counter() - began
                print(f"  run page under load            {figures(results)}   "
                      f"{len(results) / wall:.0f} requests/s")
            finally:
                server.stop()


if __name__ == "__main__":
    main()
