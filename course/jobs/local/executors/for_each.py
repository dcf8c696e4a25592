"""for_each_task: the nested task once per input, `concurrency` at a time.

`inputs` is a JSON array, written out or produced by a reference (`{{tasks.x.values.y}}`,
`{{job.parameters.p}}`). Each iteration is the nested task with `{{input}}` (the item;
objects and lists as JSON) and `{{input.field}}` replaced, run with its own retries as task
runs whose parent is this one. As on Databricks every iteration runs even when one fails,
and the for-each task fails when any iteration failed.
"""
from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

from course.jobs.local.executors.base import AttemptRequest, Iteration, Outcome
from course.jobs.model import params

NEEDS_COMPUTE = False  # its iterations wait for the nested task's compute
MAX_CONCURRENCY = 100  # the Jobs API's limit for `concurrency`

_INPUT = re.compile(r"\{\{\s*input((?:\.[A-Za-z0-9_\-]+)*)\s*\}\}")


def resolve_inputs(req: AttemptRequest) -> list:
    """The input list, references resolved; ParamError when it is not a JSON array."""
    task = req.task
    raw = task.for_each_task.inputs
    text = params.resolve_refs(raw, req.refs, where=f"task '{task.task_key}' inputs")
    try:
        items = json.loads(text)
    except ValueError:
        raise params.ParamError(f"task '{task.task_key}': for_each_task.inputs is not a JSON array: {text[:200]}") \
            from None
    if not isinstance(items, list):
        raise params.ParamError(f"task '{task.task_key}': for_each_task.inputs must be a JSON array, "
                                f"got {type(items).__name__}: {text[:200]}")
    return items


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def with_input(nested, item, parent_key: str):
    """The nested task with every `{{input}}` / `{{input.a.b}}` replaced by the item (or its field)."""
    from databricks.sdk.service import jobs

    def sub(m: re.Match) -> str:
        value = item
        for name in filter(None, m.group(1).split(".")):
            if not isinstance(value, dict) or name not in value:
                raise params.ParamError(f"task '{parent_key}': {m.group(0)}: the input {_text(item)} "
                                        f"has no field '{name}'")
            value = value[name]
        return _text(value)

    def walk(obj):
        if isinstance(obj, dict):
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        return _INPUT.sub(sub, obj) if isinstance(obj, str) else obj

    return jobs.Task.from_dict(walk(nested.as_dict()))


def execute(req: AttemptRequest) -> Outcome:
    spec = req.task.for_each_task
    key = req.task.task_key
    items = resolve_inputs(req)
    resolved = json.dumps(items)
    req.record(exit_value=resolved)  # the stats' total, while it runs
    concurrency = max(1, min(spec.concurrency or 1, MAX_CONCURRENCY))
    tasks = [with_input(spec.task, item, key) for item in items]  # a bad {{input.x}}: nothing ran
    stopped = threading.Event()

    def stop():
        stopped.set()
        req.stop_iterations()
    req.attempt.on_kill(stop)
    req.attempt.start_clock()
    remaining = [len(tasks)]
    lock = threading.Lock()

    def one(index: int) -> Outcome:
        with lock:
            remaining[0] -= 1
            more = remaining[0] > 0

        def kernel_taken(pool):  # keep a kernel warm for the next iteration, as for the next task
            if more and not stopped.is_set():
                pool.top_up(1, after_gate=True)
        if stopped.is_set():
            return Outcome("CANCELED", "Run was canceled")
        return req.run_iteration(tasks[index], Iteration(index, kernel_taken=kernel_taken))

    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"{key}-iter") as pool:
            outcomes = list(pool.map(one, range(len(tasks))))
    finally:
        req.attempt.finish()
    if req.attempt.stopped_as:
        outcome = req.attempt.stopped_outcome()
        outcome.exit_value = resolved
        return outcome
    return roll_up(outcomes, resolved)


def roll_up(outcomes: list[Outcome], resolved: str) -> Outcome:
    """SUCCESS when every iteration succeeded; otherwise FAILED naming how many failed and the
    first failure's message (an empty input list succeeds, running nothing)."""
    failed = [(i, o) for i, o in enumerate(outcomes) if o.state != "SUCCESS"]
    if not failed:
        return Outcome("SUCCESS", exit_value=resolved)
    index, first = failed[0]
    return Outcome("FAILED", f"{len(failed)} of {len(outcomes)} iterations failed; iteration {index}: "
                             f"{first.state} {first.message}".rstrip(), exit_value=resolved)
