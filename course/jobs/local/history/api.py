"""The history read back as Jobs API objects: `jobs.Run`, `jobs.RunTask`, `jobs.RunOutput`.

This is the edge where stored rows become the `runs/get`, `runs/list` and
`runs/get-output` shapes (states and statuses come from `status.status_for`).
Not every field exists in the SDK: `RunTask` has no `original_attempt_run_id`
(only `Run` has), so `tasks[]` carries `attempt_number` and the link to the first
attempt lives in the store (`TaskRunRecord.original_attempt_run_id`) and in
`get_output(...).metadata`.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Mapping

from databricks.sdk.service import jobs

from course.jobs.local.history.db import RunNotFound, now_ms
from course.jobs.local.history.records import TERMINAL_SQL, Runs
from course.jobs.local.history.status import status_for
from course.jobs.model import states


class RunViews(Runs):
    """`get_run`, `list_runs` and `get_output`, in the Jobs API 2.2 shapes."""

    def _url(self, *parts: str) -> str:
        """file:// URL below the runs folder next to the database (the folder resolved once:
        resolving every run's path was most of the time `runs/list` took)."""
        root = self.__dict__.get("_runs_root_resolved")
        if root is None:
            root = self.__dict__["_runs_root_resolved"] = self.runs_root.resolve()
        return root.joinpath(*parts).as_uri()

    def _run_task(self, row: sqlite3.Row, conn: sqlite3.Connection | None = None) -> jobs.RunTask:
        """A task_runs row as a jobs.RunTask (API shape); with `conn`, a for-each task run
        carries its iterations' stats."""
        state, status = status_for(row["life_cycle_state"], row["result_state"], row["state_message"],
                                   code=row["termination_code"], type_=row["termination_type"], is_task=True)
        start, end = row["start_time"], row["end_time"]
        duration = end - start if start is not None and end is not None else None
        kind = self._task_fields(row)
        if row["task_type"] == "for_each_task" and conn is not None:
            kind["for_each_task"] = for_each_run(row, conn)
        output = Path(row["output_path"]) if row["output_path"] else None
        url = ((output if output.is_absolute() else output.resolve()).as_uri() if output
               else self._url(str(row["run_id"]), row["task_key"]))
        return jobs.RunTask(
            task_key=row["task_key"],
            run_id=row["task_run_id"],
            attempt_number=row["attempt_number"],
            state=state,
            status=status,
            start_time=start or 0,
            end_time=end or 0,
            setup_duration=0 if duration is not None else None,
            execution_duration=duration,
            cleanup_duration=0 if duration is not None else None,
            run_duration=duration,
            depends_on=[jobs.TaskDependency.from_dict(d) for d in json.loads(row["depends_on"])] or None,
            notebook_task=kind.get("notebook_task"),
            spark_python_task=kind.get("spark_python_task"),
            condition_task=kind.get("condition_task"),
            sql_task=kind.get("sql_task"),
            run_job_task=kind.get("run_job_task"),
            for_each_task=kind.get("for_each_task"),
            resolved_values=kind.get("resolved_values"),
            run_page_url=url,
        )

    @staticmethod
    def _task_type(row: sqlite3.Row) -> str | None:
        """The task run's `*_task` field; rows from before schema 3 ran notebooks if they had a path."""
        if row["task_type"]:
            return row["task_type"]
        return "notebook_task" if row["notebook_path"] else None

    def _task_fields(self, row: sqlite3.Row) -> dict[str, Any]:
        """The RunTask fields saying what the task ran: its own `*_task` field (and resolved values)."""
        kind = self._task_type(row)
        defined = json.loads(row["task_settings"] or "{}")
        params = json.loads(row["parameters"] or "{}")
        if kind == "notebook_task" and row["notebook_path"]:
            out: dict[str, Any] = {kind: jobs.NotebookTask(notebook_path=row["notebook_path"],
                                                           base_parameters=params or None)}
            if params:
                out["resolved_values"] = jobs.ResolvedValues(
                    notebook_task=jobs.ResolvedNotebookTaskValues(base_parameters=params))
            return out
        if kind == "spark_python_task":
            task = jobs.SparkPythonTask.from_dict({**defined, "python_file": row["notebook_path"]
                                                   or defined.get("python_file")})
            return {kind: task}
        if kind == "sql_task" and defined:
            return {kind: jobs.SqlTask.from_dict(defined)}
        if kind == "run_job_task" and defined:
            return {kind: jobs.RunJobTask.from_dict(defined)}
        if kind == "condition_task" and defined:
            done = row["result_state"] == states.SUCCESS  # the outcome exists once the comparison ran
            return {kind: jobs.RunConditionTask(op=jobs.ConditionTaskOp(defined["op"]), left=defined["left"],
                                                right=defined["right"],
                                                outcome=row["exit_value"] if done else None)}
        return {}

    def _history_items(self, conn: sqlite3.Connection, run: sqlite3.Row,
                       tasks: list[sqlite3.Row]) -> list[jobs.RepairHistoryItem]:
        """repair_history: the ORIGINAL item, then one REPAIR item per repair."""
        repairs = conn.execute("SELECT * FROM repairs WHERE run_id = ? ORDER BY repair_id",
                               (run["run_id"],)).fetchall()
        original = json.loads(run["original_state"]) if repairs and run["original_state"] else dict(run)

        def item(kind: str, rid: int | None, start: int, s: Mapping[str, Any]) -> jobs.RepairHistoryItem:
            state, status = status_for(s["life_cycle_state"], s["result_state"], s["state_message"],
                                       code=s["termination_code"], type_=s["termination_type"],
                                       max_concurrent_runs=run["max_concurrent_runs"])
            return jobs.RepairHistoryItem(
                type=jobs.RepairHistoryItemType(kind), id=rid, start_time=start, end_time=s["end_time"] or 0,
                state=state, status=status,
                task_run_ids=[t["task_run_id"] for t in tasks if t["repair_id"] == rid])

        items = [item("ORIGINAL", None, run["start_time"], original)]
        items += [item("REPAIR", r["repair_id"], r["start_time"], r) for r in repairs]
        return items

    def _run(self, conn: sqlite3.Connection, row: sqlite3.Row, *, include_tasks: bool,
             include_history: bool) -> jobs.Run:
        """A runs row as a jobs.Run (API shape)."""
        state, status = status_for(row["life_cycle_state"], row["result_state"], row["state_message"],
                                   code=row["termination_code"], type_=row["termination_type"],
                                   max_concurrent_runs=row["max_concurrent_runs"])
        need_rows = include_tasks or include_history or row["original_state"] is not None
        task_rows = (conn.execute("SELECT * FROM task_runs WHERE run_id = ? AND parent_task_run_id IS NULL "
                                  "ORDER BY task_run_id", (row["run_id"],)).fetchall() if need_rows else [])
        history = self._history_items(conn, row, task_rows) if (include_history or row["original_state"]) else []
        terminal = states.is_terminal(row["life_cycle_state"])
        run_duration = None
        if terminal:  # the original run and every repair, idle time between them excluded
            spans = [(h.end_time or 0) - (h.start_time or 0) for h in history] or [row["end_time"] - row["start_time"]]
            run_duration = sum(max(0, s) for s in spans)
        queue_duration = row["queue_duration"] + (now_ms() - row["queued_since"] if row["queued_since"] else 0)
        params = json.loads(row["job_parameters"])
        defaults = json.loads(row["parameter_defaults"])
        names = list(defaults) + [n for n in params if n not in defaults]
        return jobs.Run(
            job_id=row["job_id"],
            run_id=row["run_id"],
            number_in_job=row["run_id"],
            original_attempt_run_id=row["run_id"],
            attempt_number=0,
            creator_user_name=row["creator"],
            run_name=row["run_name"],
            run_type=jobs.RunType.JOB_RUN,
            trigger=jobs.TriggerType(row["trigger"]),
            state=state,
            status=status,
            start_time=row["start_time"],
            end_time=row["end_time"] or 0,
            setup_duration=0,
            execution_duration=0,  # 0 for multi-task job runs, as in the API; see run_duration
            cleanup_duration=0,
            run_duration=run_duration,
            queue_duration=queue_duration or None,
            job_parameters=[jobs.JobParameter(name=n, default=defaults.get(n), value=params.get(n, defaults.get(n)))
                            for n in names] or None,
            tasks=[self._run_task(t, conn) for t in task_rows] if include_tasks else None,
            repair_history=history if include_history else None,
            run_page_url=self._url(str(row["run_id"])),
        )

    def get_run(self, run_id: int, *, include_history: bool = True, include_tasks: bool = True) -> jobs.Run:
        """The run as `runs/get` returns it: every task run, repair_history, state and status."""
        with self._tx("DEFERRED") as conn:
            return self._run(conn, self._run_row(conn, run_id), include_tasks=include_tasks,
                             include_history=include_history)

    def list_runs(self, job_id: int | None = None, limit: int = 25, active_only: bool = False,
                  *, completed_only: bool = False, expand_tasks: bool = False, offset: int = 0) -> list[jobs.Run]:
        """Runs newest first, like `runs/list` (tasks only with expand_tasks)."""
        where, args = [], []
        if job_id is not None:
            where.append("job_id = ?")
            args.append(job_id)
        if active_only:
            where.append(f"life_cycle_state NOT IN ({TERMINAL_SQL})")
        if completed_only:
            where.append(f"life_cycle_state IN ({TERMINAL_SQL})")
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY run_id DESC LIMIT ? OFFSET ?"
        with self._tx("DEFERRED") as conn:
            rows = conn.execute(sql, (*args, limit, offset)).fetchall()
            return [self._run(conn, r, include_tasks=expand_tasks, include_history=False) for r in rows]

    def get_output(self, task_run_id: int) -> jobs.RunOutput:
        """`runs/get-output` for a task run: notebook result (exit value), error, trace, metadata."""
        with self._tx("DEFERRED") as conn:
            row = conn.execute("SELECT * FROM task_runs WHERE task_run_id = ?", (task_run_id,)).fetchone()
            if row is None:
                if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (task_run_id,)).fetchone():
                    raise RunNotFound(f"{task_run_id} is a job run; get_output takes the run_id of a task run "
                                      "(see tasks[].run_id)")
                raise RunNotFound(f"task run {task_run_id} is not in the run history {self.path}")
            parent = self._run_row(conn, row["run_id"])
            task = self._run_task(row, conn)
            iterations = [self._run_task(r) for r in conn.execute(
                "SELECT * FROM task_runs WHERE parent_task_run_id = ? ORDER BY task_run_id", (task_run_id,))]
        metadata = jobs.Run(
            job_id=parent["job_id"], run_id=row["task_run_id"], job_run_id=row["run_id"],
            number_in_job=row["task_run_id"], original_attempt_run_id=row["original_attempt_run_id"],
            attempt_number=row["attempt_number"], creator_user_name=parent["creator"],
            run_name=parent["run_name"], run_type=jobs.RunType.JOB_RUN,
            trigger=jobs.TriggerType(parent["trigger"]), state=task.state, status=task.status,
            start_time=task.start_time, end_time=task.end_time, setup_duration=task.setup_duration,
            execution_duration=task.execution_duration, cleanup_duration=task.cleanup_duration,
            run_duration=task.run_duration, run_page_url=task.run_page_url, tasks=[task],
            iterations=iterations or None)
        notebook = None
        if self._task_type(row) == "notebook_task" and states.is_terminal(row["life_cycle_state"]):
            notebook = jobs.NotebookOutput(result=row["exit_value"], truncated=False)
        child = jobs.RunJobOutput(run_id=row["child_run_id"]) if row["child_run_id"] else None
        return jobs.RunOutput(notebook_output=notebook, error=row["error"], error_trace=row["error_trace"],
                              metadata=metadata, run_job_output=child)


def for_each_run(row: sqlite3.Row, conn: sqlite3.Connection) -> jobs.RunForEachTask:
    """A for-each task run as the API shows it: its definition, the resolved inputs (kept as the
    row's exit value) and its iterations' stats (the latest attempt of each iteration counts)."""
    defined = json.loads(row["task_settings"] or "{}")
    latest: dict[int, sqlite3.Row] = {}
    for r in conn.execute("SELECT * FROM task_runs WHERE parent_task_run_id = ? ORDER BY task_run_id",
                          (row["task_run_id"],)):
        latest[r["original_attempt_run_id"]] = r
    try:
        total = len(json.loads(row["exit_value"])) if row["exit_value"] else len(latest)
    except ValueError:
        total = len(latest)
    done = [r for r in latest.values() if states.is_terminal(r["life_cycle_state"])]
    succeeded = sum(r["result_state"] == states.SUCCESS for r in done)
    stats = jobs.ForEachTaskTaskRunStats(
        total_iterations=total, scheduled_iterations=total - len(latest),
        active_iterations=len(latest) - len(done), completed_iterations=len(done),
        succeeded_iterations=succeeded, failed_iterations=len(done) - succeeded)
    return jobs.RunForEachTask(inputs=row["exit_value"] or defined.get("inputs"),
                               concurrency=defined.get("concurrency"),
                               task=jobs.Task.from_dict(defined["task"]) if defined.get("task") else None,
                               stats=jobs.ForEachStats(task_run_stats=stats))
