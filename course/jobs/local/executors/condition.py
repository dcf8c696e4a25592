"""condition_task: compare two resolved operands; the outcome steers its branches."""
from __future__ import annotations

from course.jobs.local.executors.base import AttemptRequest, Outcome
from course.jobs.model import conditions, params

NEEDS_COMPUTE = False


def execute(req: AttemptRequest) -> Outcome:
    left, right = params.resolve_condition(req.settings, req.task, req.job_parameters, req.refs)
    return run_condition(req.task.condition_task.op, left, right)


def run_condition(op, left: str, right: str) -> Outcome:
    """A condition task: compare, succeed, and report the outcome for its branches."""
    try:
        outcome = conditions.outcome(op, left, right)
    except ValueError as exc:
        return Outcome("FAILED", str(exc))
    return Outcome("SUCCESS", exit_value=outcome, condition_outcome=outcome)
