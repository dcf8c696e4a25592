"""The one way the command line starts a local run or repair (`run`, `repair`, `watch`)."""
from __future__ import annotations

from course.cli import UsageError


def require_java_if_needed(loaded) -> None:
    """A job cluster needs Java: say so in one paragraph before anything starts."""
    from course.platform.java import JavaMissing, require_java

    if any(t.job_cluster_key or t.new_cluster for t in loaded.settings.tasks or []):
        try:
            require_java()
        except JavaMissing as exc:
            raise UsageError(str(exc)) from None


def run_locally(loaded, history, options, repair_of: int | None = None, **repair_args) -> int:
    """Run the job (or repair run `repair_of`) with `options`; returns the run id.
    A request that cannot be carried out is a UsageError (exit 2), and nothing ran."""
    from course.jobs.local.history import HistoryError, RunNotFound
    from course.jobs.local.runner import LocalRunner, RunError
    from course.jobs.model.params import ParamError

    runner = LocalRunner(loaded, history, options)
    try:
        if repair_of is None:
            return runner.run()
        return runner.repair(repair_of, **repair_args)
    except (RunError, ParamError, HistoryError) as exc:
        raise UsageError(str(exc)) from None
    except RunNotFound as exc:
        raise UsageError(exc.args[0] if exc.args else f"run {repair_of} not found") from None
