"""Options and steps the run, repair and runs commands share."""
from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from course.cli import EXIT_FAILED, EXIT_OK, UsageError
from course.platform.paths import REPO_ROOT


def add_passthrough(subparsers, name: str, help: str, handler) -> None:
    """A command whose arguments all go to another parser (`data`, `practical`): its own
    `--help` included, so argparse must not answer it here."""
    p = subparsers.add_parser(name, help=help, add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(handler=handler)


def add_job_options(parser) -> None:
    parser.add_argument("--job", metavar="FILE", help="databricks.yml, another bundle YAML, or a Jobs API JSON "
                        "(default: databricks.yml in the kit)")
    parser.add_argument("--job-key", metavar="KEY", help="which job of the bundle (default: day7_medallion)")
    parser.add_argument("-t", "--target", help="bundle target (default: the one marked default, `local`)")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="set a bundle variable (repeatable)")


def add_param_option(parser) -> None:
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="job parameter override (repeatable)")


def add_on_option(parser) -> None:
    parser.add_argument("--on", choices=["local", "databricks"], default="local",
                        help="run here (default) or in the Databricks workspace the SDK is configured for")
    parser.add_argument("--profile", help="~/.databrickscfg profile (with --on databricks)")


def load(args):
    """The job named on the command line, validated; bad input → UsageError (exit 2)."""
    from course.jobs.model.params import ParamError, parse_overrides
    from course.jobs.spec import DEFAULT_TARGET, JobSpecError, load_job

    path = Path(args.job) if args.job else REPO_ROOT / "databricks.yml"
    # For a workspace, `dev` when the bundle has it: its default target, `local`, is for this machine.
    preferred = DEFAULT_TARGET if getattr(args, "on", "local") == "databricks" else None
    try:
        variables = parse_overrides(args.var) if args.var else None
        loaded = load_job(path, target=args.target, job_key=args.job_key, variables=variables,
                          preferred_target=preferred, local=getattr(args, "on", "local") != "databricks")
        for warning in loaded.warnings:
            print(warning, file=sys.stderr)
        return loaded
    except (JobSpecError, ParamError) as exc:
        raise UsageError(str(exc)) from None
    except FileNotFoundError:
        raise UsageError(f"{path}: no such job file") from None


def overrides(args) -> dict[str, str]:
    from course.jobs.model.params import ParamError, parse_overrides

    try:
        return parse_overrides(args.param)
    except ParamError as exc:
        raise UsageError(f"--param: {exc}") from None


def sigterm_as_interrupt() -> None:
    """SIGTERM stops a run like Ctrl-C: kernels and the job cluster are stopped first."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def print_json(obj) -> None:
    print(json.dumps(obj, indent=2, sort_keys=False))


def exit_code_for(run) -> int:
    from course.cli.progress import run_state

    return EXIT_OK if run_state(run) == "SUCCESS" else EXIT_FAILED


def show_finished(run, args) -> int:
    """Summary table (people) or the Run as JSON (scripts) on stdout; exit code from the result."""
    from course.cli.progress import Colors, summary

    if getattr(args, "json", False):
        print_json(run.as_dict())
    else:
        print(summary(run, Colors(sys.stdout.isatty())))
        links = lab_links(run)
        if links:
            print("\nOpen in JupyterLab:")
            for key, url in links:
                print(f"  {key:<16} {url}")
    return exit_code_for(run)


def lab_links(run) -> list[tuple[str, str]]:
    """(task key, JupyterLab URL of its latest executed notebook) when run in a JupyterLab terminal."""
    from course.cli.progress import latest_tasks
    from course.teaching.lab import link_for

    links = []
    for key, runs in latest_tasks(run).items():
        url = runs[-1].run_page_url or ""
        if url.startswith("file://") and url.endswith(".ipynb"):
            link = link_for(url[len("file://"):])
            if link:
                links.append((key, link))
    return links
