"""The local workspace server under load: `python bench/bench_server.py [--runs 1000] [--clients 50]`.

Fills a fresh state folder's history with `--runs` finished runs of a three-task job
(bronze → silver → gold; every tenth run failed and repaired), starts `runner.py serve`
in its own process on 127.0.0.1, then measures over loopback with httpx:

1. one client, one request at a time: `runs/get` of random runs (what the run page reads),
   `runs/list` (25 runs with tasks) and `jobs/list`, and the run page itself
   (`--page /jobs/{job_id}/runs/{run_id}`, when the pages are served);
2. `--clients` concurrent clients (asyncio) for `--seconds`, each looping over the same mix.

Prints median / p95 / p99 latency and requests per second. The goal: a run page under
100 ms with 1,000 runs in history.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def fill(home: Path, runs: int) -> tuple[int, list[int]]:
    """`runs` finished runs of one job in the history at `home`; (job_id, run ids)."""
    from course.jobs.local.history import History

    settings = {"name": "bench-medallion", "tasks": [
        {"task_key": k, "notebook_task": {"notebook_path": f"/Users/bench/{k}"},
         **({"depends_on": [{"task_key": d}]} if d else {})}
        for k, d in (("bronze", None), ("silver", "bronze"), ("gold", "silver"))]}
    ids = []
    with History(home / "history.db") as h:
        job_id = h.ensure_job("bench-medallion", settings)
        for n in range(runs):
            run_id = h.create_run(job_id, "bench-medallion", {"run_date": "2026-12-01"})
            h.admit(job_id, run_id, 1_000_000)
            h.set_run_state(run_id, "RUNNING")
            failed = n % 10 == 0
            prev = None
            for key in ("bronze", "silver", "gold"):
                t = h.create_task_run(run_id, key, depends_on=[prev] if prev else [],
                                      notebook_path=f"/Users/bench/{key}", life_cycle_state="RUNNING")
                bad = failed and key == "silver"
                h.update_task_run(t, life_cycle_state="TERMINATED" if not bad else "INTERNAL_ERROR",
                                  result_state="FAILED" if bad else "SUCCESS",
                                  state_message="ValueError: bench" if bad else "")
                prev = key
                if bad:
                    break
            h.set_run_state(run_id, "TERMINATED", "FAILED" if failed else "SUCCESS")
            if failed:
                h.create_repair(run_id, ["silver", "gold"])
                for key, dep in (("silver", "bronze"), ("gold", "silver")):
                    t = h.create_task_run(run_id, key, depends_on=[dep], life_cycle_state="RUNNING")
                    h.update_task_run(t, life_cycle_state="TERMINATED", result_state="SUCCESS")
                h.set_run_state(run_id, "TERMINATED", "SUCCESS")
            ids.append(run_id)
    return job_id, ids


def start_server(home: Path) -> tuple[subprocess.Popen, str, str]:
    env = {**os.environ, "DAY7_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "runner.py", "serve", "--port", "0", "--no-scheduler"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    host = token = None
    while host is None or token is None:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the server did not start")
        if line.startswith("DATABRICKS_HOST="):
            host = line.strip().split("=", 1)[1]
        elif line.startswith("DATABRICKS_TOKEN="):
            token = line.strip().split("=", 1)[1]
    return proc, host, token


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def row(name: str, ms: list[float], seconds: float | None = None) -> str:
    rate = f"{len(ms) / seconds:8.0f}/s" if seconds else " " * 10
    return (f"{name:<34} n={len(ms):<6} median {statistics.median(ms):7.1f} ms   p95 {pct(ms, .95):7.1f} ms   "
            f"p99 {pct(ms, .99):7.1f} ms  {rate}")


def sequential(client, paths: list[str], n: int) -> list[float]:
    out = []
    for i in range(n):
        began = time.perf_counter()
        reply = client.get(paths[i % len(paths)])
        out.append((time.perf_counter() - began) * 1000)
        if reply.status_code != 200:
            raise SystemExit(f"{paths[i % len(paths)]}: HTTP {reply.status_code} {reply.text[:200]}")
    return out


async def load(host: str, token: str, mix: list[str], clients: int, seconds: float) -> tuple[list[float], int]:
    import httpx

    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def one(client, seed: int) -> None:
        nonlocal errors
        rnd = random.Random(seed)
        while time.perf_counter() < stop:
            path = rnd.choice(mix)  # the page paths carry ?token=, the API ones the header
            began = time.perf_counter()
            try:
                reply = await client.get(path)
            except httpx.TransportError:  # counted, not fatal: the figure says how many
                errors += 1
                continue
            latencies.append((time.perf_counter() - began) * 1000)
            errors += reply.status_code != 200

    async with httpx.AsyncClient(base_url=host, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                 timeout=60) as client:
        await asyncio.gather(*(one(client, s) for s in range(clients)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--requests", type=int, default=300, help="sequential requests per kind")
    parser.add_argument("--page", default="/jobs/{job_id}/runs/{run_id}",
                        help="the run page's path (skipped when the server answers 404)")
    args = parser.parse_args()
    import httpx

    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        home = Path(tmp)
        began = time.perf_counter()
        job_id, run_ids = fill(home, args.runs)
        print(f"history: {args.runs} runs of a 3-task job ({args.runs // 10} repaired) written in "
              f"{time.perf_counter() - began:.1f} s")
        proc, host, token = start_server(home)
        try:
            rnd = random.Random(7)
            sample = [rnd.choice(run_ids) for _ in range(200)]
            kinds = {
                "runs/get (run page data)": [f"/api/2.2/jobs/runs/get?run_id={r}&include_history=true" for r in sample],
                "runs/list limit 25 expand_tasks": [f"/api/2.2/jobs/runs/list?job_id={job_id}&limit=25&expand_tasks=true"
                                                    f"&page_token={rnd.randrange(0, args.runs - 25)}" for _ in range(50)],
                "jobs/list": ["/api/2.2/jobs/list?limit=20"],
            }
            with httpx.Client(base_url=host, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
                client.get(kinds["jobs/list"][0])  # warm-up
                page = args.page.format(job_id=job_id, run_id=sample[0])
                if client.get(page, params={"token": token}).status_code == 200:
                    kinds["run page " + args.page] = [args.page.format(job_id=job_id, run_id=r) + f"?token={token}"
                                                      for r in sample]
                else:
                    print(f"run page {args.page}: not served here (no pages module): skipped")
                print(f"\none client, one request at a time ({args.requests} each):")
                for name, paths in kinds.items():
                    print(row(name, sequential(client, paths, args.requests)))
            mixes = {"runs/get only (50 SDK waiters)": kinds["runs/get (run page data)"],
                     "the mix above": [p for paths in kinds.values() for p in paths[:50]]}
            print(f"\n{args.clients} concurrent clients, {args.seconds:.0f} s each:")
            for name, mix in mixes.items():
                began = time.perf_counter()
                latencies, errors = asyncio.run(load(host, token, mix, args.clients, args.seconds))
                print(row(name, latencies, time.perf_counter() - began) + f"  errors {errors}")
        finally:
            proc.terminate()
            proc.wait(15)


if __name__ == "__main__":
    main()
