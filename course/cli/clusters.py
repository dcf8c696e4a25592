"""`runner.py clusters list|start KEY|stop KEY`: the local all-purpose clusters.

An all-purpose cluster (a bundle's `resources.clusters.<key>`) starts on first use by
a task (`existing_cluster_id`) or with `clusters start`, stays up between runs, and
stops itself after `autotermination_minutes` without work, or with `clusters stop`.
"""
from __future__ import annotations

import json

from course.cli import EXIT_FAILED, EXIT_OK, UsageError
from course.cli.common import add_job_options, load


def register(subparsers) -> None:
    p = subparsers.add_parser("clusters", help="local all-purpose clusters: list, start KEY, stop KEY",
                              description="List, start or stop the local all-purpose clusters "
                                          "(the bundle's resources.clusters).")
    p.add_argument("action", nargs="?", choices=["list", "start", "stop"], default="list")
    p.add_argument("key", nargs="?", help="the cluster's key in resources.clusters (start, stop)")
    p.add_argument("--json", action="store_true", help="list as JSON")
    add_job_options(p)
    p.set_defaults(handler=handle)


def _duration(seconds) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _who(pid: int) -> str:
    """`kernel pid N` for a Jupyter kernel (a notebook or a task), else the program's name."""
    import psutil

    try:
        cmd = psutil.Process(pid).cmdline()
    except psutil.Error:
        return f"pid {pid}"
    return f"kernel pid {pid}" if any("ipykernel" in part for part in cmd) else \
        f"{cmd[0].rsplit('/', 1)[-1] if cmd else '?'} pid {pid}"


def handle(args) -> int:
    from course.jobs.local.compute import allpurpose

    if args.action != "list" and not args.key:
        raise UsageError(f"clusters {args.action}: name the cluster, e.g. `clusters {args.action} KEY`")
    if args.action == "list":
        clusters = allpurpose.list_clusters()
        if args.json:
            print(json.dumps(clusters, indent=1))
            return EXIT_OK
        if not clusters:
            print("no all-purpose clusters (a task with existing_cluster_id, or `clusters start KEY`, starts one)")
            return EXIT_OK
        print(f"{'KEY':<16} {'STATE':<11} {'UPTIME':>7} {'IDLE':>7} {'AUTOSTOP':>8} {'WORKERS':>7} {'REPLS':>5}  "
              f"{'URL':<22} ATTACHED")
        for c in clusters:
            auto = c.get("autotermination_minutes")
            print(f"{c['key']:<16} {c['state']:<11} {_duration(c.get('uptime_s')):>7} {_duration(c.get('idle_s')):>7} "
                  f"{(f'{auto:g}m' if auto else 'never'):>8} {c.get('workers', 0):>7} {c.get('repls_ready', '-'):>5}  "
                  f"{c.get('url') or '-':<22} "
                  + (", ".join(_who(p) for p in c["attached"]) or "-"))
            if c["state"] == "TERMINATED" and c.get("reason"):
                print(f"{'':<16} ({c['reason']})")
        return EXIT_OK
    if args.action == "stop":
        was = allpurpose.stop(args.key)
        print(f"all-purpose cluster {args.key}: " + ("terminated" if was else "was not running"))
        return EXIT_OK
    loaded = load(args)
    if args.key not in loaded.clusters:
        known = ", ".join(loaded.clusters) or "none"
        raise UsageError(f"{loaded.source}: resources.clusters has no cluster '{args.key}' (clusters: {known})")
    spec = allpurpose.ClusterSpec.from_resource(args.key, loaded.clusters[args.key])
    try:
        state = allpurpose.ensure_running(spec)
    except allpurpose.ClusterStartError as exc:
        print(f"error: {exc}")
        return EXIT_FAILED
    print(f"all-purpose cluster {args.key}: RUNNING at {state['url']} (auto-terminates after "
          f"{spec.autotermination_minutes:g} minutes without work)")
    return EXIT_OK
