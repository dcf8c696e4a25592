"""`runner.py deploy`: put the job and its notebooks in a Databricks workspace.

Authentication is the SDK's own (DATABRICKS_HOST / DATABRICKS_TOKEN, or --profile
for ~/.databrickscfg). `--dry-run` prints the exact Jobs API settings and the
uploads without any request. Exit 0 when deployed, 2 for a bad job definition,
configuration or an error from the workspace (one sentence on stderr).
"""
from __future__ import annotations

import json

from course.cli import EXIT_OK, UsageError


def register(subparsers) -> None:
    from course.jobs.spec import DEFAULT_TARGET

    p = subparsers.add_parser(
        "deploy", help="deploy the job and its notebooks to a Databricks workspace",
        description="Upload the job's notebooks to ${workspace.file_path} and create the job, or reset it "
                    "when it was deployed before. Credentials come from the Databricks SDK's usual "
                    "configuration: DATABRICKS_HOST and DATABRICKS_TOKEN, or a profile in ~/.databrickscfg.")
    p.add_argument("-t", "--target", default=None,
                   help=f"bundle target (default: {DEFAULT_TARGET} when the bundle has it, else its default target)")
    p.add_argument("--profile", help="~/.databrickscfg profile (default: the SDK's own choice)")
    p.add_argument("--job", metavar="FILE", help="databricks.yml, another bundle YAML, or a Jobs API JSON "
                                                 "(default: databricks.yml in the kit)")
    p.add_argument("--job-key", metavar="KEY", help="which job of the bundle (default: day7_medallion)")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                   help="set a bundle variable (repeatable), e.g. --var compute=serverless")
    p.add_argument("--dry-run", action="store_true",
                   help="print the settings and uploads; send nothing, not even a login check")
    p.add_argument("--json", action="store_true", help="print the result as JSON (settings, uploads, job)")
    p.set_defaults(handler=handle, on="databricks")  # load() picks the workspace's target


def handle(args) -> int:
    from course.cli.common import load
    from course.jobs import workspace as remote
    from course.jobs.workspace.deploy import deploy
    from course.jobs.spec import JobSpecError

    loaded = load(args)
    try:
        if args.dry_run:
            result = deploy(loaded, dry_run=True)
        else:
            result = deploy(loaded, client=remote.workspace_client(args.profile))
    except (remote.RemoteError, JobSpecError) as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(_as_json(result, loaded), indent=2))
    else:
        print(_report(result, loaded))
    return EXIT_OK


def _as_json(result, loaded) -> dict:
    return {
        "dry_run": result.dry_run, "user": result.user, "target": loaded.target, "mode": loaded.mode,
        "job_id": result.job_id, "url": result.url, "created": result.created if not result.dry_run else None,
        "uploads": [{"local": str(u.local), "workspace_path": u.remote, "format": u.format.value,
                     **({"language": u.language.value} if u.language else {})} for u in result.uploads],
        "settings": result.settings.as_dict(), "notes": result.notes,
        "clusters": {k: {"cluster_id": c["cluster_id"], "cluster_name": c["cluster_name"]}
                     for k, c in result.clusters.items()},
        "jobs": {k: _as_json(r, r.loaded) for k, r in result.jobs.items()},
    }


def _rel(path, root) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _report(result, loaded) -> str:
    mode = f", {loaded.mode} mode" if loaded.mode else ""
    target = f"target {loaded.target}{mode}" if loaded.target else "no target"
    lines = []
    if result.dry_run:
        lines.append(f"Dry run of {loaded.key} ({target}): nothing was uploaded or changed, no request was sent.")
    else:
        lines.append(f"Deployed {loaded.key} ({target}) as {result.user}.")
    local = [_rel(u.local, loaded.root) for u in result.uploads]
    width = max([len(x) for x in local] + [5])
    lines.append("")
    lines.append("would upload (local → workspace):" if result.dry_run else "uploaded (local → workspace):")
    for rel, u in zip(local, result.uploads):
        lines.append(f"  {rel:<{width}}  →  {u.remote}  ({u.kind})")
    if not result.uploads:
        lines.append("  (no local files: the tasks use workspace or git paths)")
    lines.append("")
    if result.dry_run:
        lines.append("job settings (the jobs/create or jobs/reset body):")
        lines.append(json.dumps(result.settings.as_dict(), indent=2))
    else:
        what = "created with jobs/create" if result.created else "updated with jobs/reset"
        rows = [("job", f"{result.settings.name}  ({what})"), ("job id", str(result.job_id)),
                ("url", result.url or "")]
        lines.extend(f"{k:<7} {v}" for k, v in rows)
    for key, spec in result.clusters.items():
        lines.append(f"cluster {key}: {spec['cluster_name']}  ({spec['cluster_id']})")
    for key, other in result.jobs.items():
        done = "would be deployed first" if other.dry_run else f"deployed first as job {other.job_id}"
        lines.append(f"job {key} (run by this job): {other.settings.name}  ({done}, "
                     f"{len(other.uploads)} file{'s' if len(other.uploads) != 1 else ''})")
    for note in result.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)
