"""The Jobs API `state` and `status` blocks for a stored state.

The history is read back as databricks-sdk dataclasses (`jobs.Run`, `jobs.RunOutput`) whose
`.as_dict()` has the Jobs API 2.2 `runs/get` / `runs/get-output` shape. State
mapping (legacy `state` block → new `status` block), `status_for`:

| state (life_cycle / result)          | status.state | termination code (type)               |
|--------------------------------------|--------------|---------------------------------------|
| QUEUED                               | QUEUED       | queue_details MAX_CONCURRENT_RUNS_REACHED |
| PENDING / BLOCKED / RUNNING / TERMINATING | same    | –                                     |
| WAITING_FOR_RETRY                    | WAITING      | –                                     |
| TERMINATED SUCCESS                   | TERMINATED   | SUCCESS (SUCCESS)                     |
| TERMINATED SUCCESS_WITH_FAILURES     | TERMINATED   | SUCCESS_WITH_FAILURES (SUCCESS)       |
| TERMINATED FAILED                    | TERMINATED   | RUN_EXECUTION_ERROR (CLIENT_ERROR)    |
| INTERNAL_ERROR FAILED, job run       | TERMINATED   | RUN_EXECUTION_ERROR (CLIENT_ERROR): the real-workspace quirk, a failed multi-task run reads `INTERNAL_ERROR / FAILED / "Task <key> failed with message: …"` |
| INTERNAL_ERROR, task run             | TERMINATED   | INTERNAL_ERROR (INTERNAL_ERROR)       |
| TERMINATED TIMEDOUT                  | TERMINATED   | CANCELED (CLIENT_ERROR): "canceled by the platform, e.g. maximum run duration exceeded" |
| TERMINATED CANCELED                  | TERMINATED   | USER_CANCELED (SUCCESS)               |
| TERMINATED UPSTREAM_FAILED / UPSTREAM_CANCELED | TERMINATED | SKIPPED (CLIENT_ERROR)       |
| TERMINATED EXCLUDED                  | TERMINATED   | SKIPPED (SUCCESS)                     |
| TERMINATED DISABLED                  | TERMINATED   | DISABLED (SUCCESS)                    |
| SKIPPED (MAXIMUM_CONCURRENT_RUNS_REACHED) | TERMINATED | MAX_CONCURRENT_RUNS_EXCEEDED (CLIENT_ERROR) |

A caller can override the code (e.g. `close_orphans` records INTERNAL_ERROR /
INTERNAL_ERROR for a run whose runner died, not RUN_EXECUTION_ERROR).
"""
from __future__ import annotations

from databricks.sdk.service import jobs

from course.jobs.model import states

QUEUED_MESSAGE = "Queued due to reaching maximum concurrent runs of {n}."

_V2_STATE = {
    "QUEUED": "QUEUED", "PENDING": "PENDING", "BLOCKED": "BLOCKED", "RUNNING": "RUNNING",
    "WAITING_FOR_RETRY": "WAITING", "TERMINATING": "TERMINATING",
    "TERMINATED": "TERMINATED", "SKIPPED": "TERMINATED", "INTERNAL_ERROR": "TERMINATED",
}
_RESULT_CODE = {
    "SUCCESS": ("SUCCESS", "SUCCESS"),
    "SUCCESS_WITH_FAILURES": ("SUCCESS_WITH_FAILURES", "SUCCESS"),
    "FAILED": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
    "TIMEDOUT": ("CANCELED", "CLIENT_ERROR"),
    "CANCELED": ("USER_CANCELED", "SUCCESS"),
    "UPSTREAM_FAILED": ("SKIPPED", "CLIENT_ERROR"),
    "UPSTREAM_CANCELED": ("SKIPPED", "CLIENT_ERROR"),
    "EXCLUDED": ("SKIPPED", "SUCCESS"),
    "DISABLED": ("DISABLED", "SUCCESS"),
    "MAXIMUM_CONCURRENT_RUNS_REACHED": ("MAX_CONCURRENT_RUNS_EXCEEDED", "CLIENT_ERROR"),
}


def status_for(
    life_cycle_state: str,
    result_state: str | None,
    message: str,
    *,
    code: str | None = None,
    type_: str | None = None,
    is_task: bool = False,
    max_concurrent_runs: int | None = None,
) -> tuple[jobs.RunState, jobs.RunStatus]:
    """The legacy `state` block and the new `status` block for one stored state."""
    queue_reason = None
    queue_details = None
    if life_cycle_state == states.QUEUED:
        queue_reason = QUEUED_MESSAGE.format(n=max_concurrent_runs if max_concurrent_runs is not None else 1)
        queue_details = jobs.QueueDetails(code=jobs.QueueDetailsCodeCode.MAX_CONCURRENT_RUNS_REACHED,
                                          message=queue_reason)
    state = jobs.RunState(
        life_cycle_state=jobs.RunLifeCycleState(life_cycle_state),
        result_state=jobs.RunResultState(result_state) if result_state else None,
        state_message=message or "",
        queue_reason=queue_reason,
        user_cancelled_or_timedout=result_state in (states.CANCELED, states.TIMEDOUT),
    )
    details = None
    if states.is_terminal(life_cycle_state):
        if code is None:
            if life_cycle_state == states.INTERNAL_ERROR:
                # A job run: the failed multi-task run quirk. A task run: a real internal error.
                code, dflt_type = (("INTERNAL_ERROR", "INTERNAL_ERROR") if is_task
                                   else ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"))
            elif life_cycle_state == states.SKIPPED:
                code, dflt_type = _RESULT_CODE["MAXIMUM_CONCURRENT_RUNS_REACHED"]
            else:
                code, dflt_type = _RESULT_CODE.get(result_state or "", ("INTERNAL_ERROR", "INTERNAL_ERROR"))
            type_ = type_ or dflt_type
        details = jobs.TerminationDetails(
            code=jobs.TerminationCodeCode(code),
            type=jobs.TerminationTypeType(type_) if type_ else None,
            message=message or "",
        )
    status = jobs.RunStatus(
        state=jobs.RunLifecycleStateV2State(_V2_STATE[life_cycle_state]),
        termination_details=details,
        queue_details=queue_details,
    )
    return state, status
