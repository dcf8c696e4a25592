"""What a person sees while a run goes: task states as they change, then a summary.

Driven by `jobs.Run` snapshots, so local runs and Databricks runs look the same.
On a terminal: a live table redrawn in place, coloured. Otherwise: one plain
line per change (logs, CI, notebooks calling the runner).
"""
from __future__ import annotations

import os
import sys
import time
from course.jobs.model.states import value

GREEN, RED, YELLOW, DIM, BOLD, RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[2m", "\x1b[1m", "\x1b[0m"
GOOD = {"SUCCESS", "EXCLUDED", "DISABLED"}
BAD = {"FAILED", "TIMEDOUT", "INTERNAL_ERROR", "UPSTREAM_FAILED", "CANCELED", "UPSTREAM_CANCELED",
       "MAXIMUM_CONCURRENT_RUNS_REACHED", "SUCCESS_WITH_FAILURES"}


def _value(enum_or_str) -> str:
    return value(enum_or_str) or ""


def task_state(task) -> str:
    """One word for a task run: its result when finished, else its life cycle state."""
    state = task.state
    if state is None:
        return "PENDING"
    return _value(state.result_state) or _value(state.life_cycle_state)


def run_state(run) -> str:
    state = run.state
    return (_value(state.result_state) or _value(state.life_cycle_state)) if state else "PENDING"


def duration(start_ms: int | None, end_ms: int | None) -> str:
    if not start_ms:
        return "-"
    seconds = ((end_ms or time.time() * 1000) - start_ms) / 1000
    return f"{seconds:.1f}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def latest_tasks(run) -> dict[str, list]:
    """Task key -> its task runs (attempts, repairs) in order, latest last."""
    by_key: dict[str, list] = {}
    for task in run.tasks or []:
        by_key.setdefault(task.task_key, []).append(task)
    for runs in by_key.values():
        runs.sort(key=lambda t: t.run_id or 0)
    return by_key


class Colors:
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def state(self, word: str, width: int = 0) -> str:
        """The state word coloured by what it means, then padded to `width` (colour codes take
        no room on screen; padding first would make every word miss GOOD/BAD: all yellow)."""
        pad = " " * max(0, width - len(word))
        if not self.enabled:
            return word + pad
        colour = GREEN if word in GOOD else RED if word in BAD else YELLOW
        return f"{colour}{word}{RESET}{pad}"

    def dim(self, text: str) -> str:
        return f"{DIM}{text}{RESET}" if self.enabled else text


class RunProgress:
    """Call `update(run)` with each new snapshot and `close()` at the end."""

    def __init__(self, stream=None, live: bool | None = None):
        self.stream = stream or sys.stderr
        tty = hasattr(self.stream, "isatty") and self.stream.isatty() and os.environ.get("TERM") != "dumb"
        self.live = tty if live is None else live
        self.colors = Colors(self.live and not os.environ.get("NO_COLOR"))
        self._seen: dict[int, str] = {}
        self._drawn = 0
        self._run_seen: str | None = None

    def note(self, text: str) -> None:
        self._clear()
        print(self.colors.dim(text), file=self.stream, flush=True)
        self._drawn = 0

    def update(self, run) -> None:
        if self.live:
            self._redraw(run)
        else:
            self._lines(run)

    def _lines(self, run) -> None:
        state = run_state(run)
        if state != self._run_seen:
            self._run_seen = state
            print(f"{time.strftime('%H:%M:%S')}  run {run.run_id:<10} {state}", file=self.stream, flush=True)
        for task in run.tasks or []:
            word = task_state(task)
            if self._seen.get(task.run_id) != word:
                self._seen[task.run_id] = word
                attempt = f"attempt {task.attempt_number}" if task.attempt_number else ""
                print(f"{time.strftime('%H:%M:%S')}  {task.task_key:<16} {word:<18} {attempt}".rstrip(),
                      file=self.stream, flush=True)

    def _clear(self) -> None:
        if self.live and self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")

    def _redraw(self, run) -> None:
        self._clear()
        lines = [f"{BOLD if self.colors.enabled else ''}run {run.run_id}{RESET if self.colors.enabled else ''}"
                 f"  {self.colors.state(run_state(run))}  {duration(run.start_time, run.end_time or None)}"]
        for key, runs in latest_tasks(run).items():
            last = runs[-1]
            word = task_state(last)
            attempts = sum(1 for r in runs if task_state(r) != "WAITING_FOR_RETRY")
            lines.append(f"  {key:<16} {self.colors.state(word, 18)} "
                         f"{duration(last.start_time, last.end_time or None):>7}"
                         + (f"  attempt {attempts}" if attempts > 1 else ""))
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn = len(lines)

    def close(self) -> None:
        self._drawn = 0


def summary(run, colors: Colors | None = None) -> str:
    """The table printed when a run ends: task, state, attempts, duration, output."""
    colors = colors or Colors(False)
    rows = []
    for key, runs in latest_tasks(run).items():
        last = runs[-1]
        started = [r for r in runs if r.start_time]
        first_start = min((r.start_time for r in started), default=None)
        attempts = sum(1 for r in runs if task_state(r) not in {"WAITING_FOR_RETRY"}
                       and r.start_time and task_state(r) not in {"UPSTREAM_FAILED", "EXCLUDED", "DISABLED"})
        rows.append((key, task_state(last), str(attempts or "-"),
                     duration(first_start, last.end_time or None) if first_start else "-",
                     _output(last)))
    header = ("task", "state", "attempts", "duration", "output")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header[:4], widths)) + "  " + header[4]]
    for row in rows:
        cells = [row[0].ljust(widths[0]), colors.state(row[1], widths[1]),
                 row[2].rjust(widths[2]), row[3].rjust(widths[3]), row[4]]
        lines.append("  ".join(cells))
    state = run_state(run)
    total = duration(run.start_time, run.end_time or None)
    message = run.state.state_message if run.state and run.state.state_message else ""
    lines.append("")
    lines.append(f"run {run.run_id}: {colors.state(state)} in {total}" + (f" — {message}" if message else ""))
    return "\n".join(lines)


def attempts_table(run, colors: Colors | None = None) -> str:
    """Every task run of a run (attempts and repairs), oldest first, with the task run id
    that `runs output TASK_RUN_ID` takes."""
    colors = colors or Colors(False)
    repair_of: dict[int, str] = {}
    for number, item in enumerate(run.repair_history or []):
        for task_run_id in item.task_run_ids or []:
            repair_of[task_run_id] = "run" if number == 0 else f"repair {number}"
    rows = []
    for task in sorted(run.tasks or [], key=lambda t: t.run_id or 0):
        rows.append((str(task.run_id or "-"), task.task_key, str(task.attempt_number or 0),
                     repair_of.get(task.run_id, "run"), task_state(task),
                     duration(task.start_time, task.end_time or None) if task.start_time else "-", _output(task)))
    header = ("task_run_id", "task", "attempt", "in", "state", "duration", "output")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(6)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header[:6], widths)) + "  " + header[6]]
    for row in rows:
        lines.append("  ".join([row[0].rjust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]),
                                row[3].ljust(widths[3]), colors.state(row[4], widths[4]),
                                row[5].rjust(widths[5]), row[6]]))
    return "\n".join(lines)


RECENT_SAVE_S = 600


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


def saved_notes(loaded, now: float | None = None, recent_s: float = RECENT_SAVE_S) -> list[str]:
    """Lines saying which file each notebook task runs and when it was saved, when one of them
    was saved in the last `recent_s` seconds (someone is editing): the job runs the files on
    disk, not the tabs open in JupyterLab, so an unsaved edit is not in the run."""
    now = time.time() if now is None else now
    found = []
    for task in loaded.settings.tasks or []:
        if task.notebook_task is None:
            continue
        try:
            mtime = os.path.getmtime(task.notebook_task.notebook_path)
        except OSError:
            continue
        path = task.notebook_task.notebook_path
        rel = os.path.relpath(path)
        found.append((task.task_key, path if rel.startswith("..") else rel, now - mtime))
    if not any(age < recent_s for _, _, age in found):
        return []
    lines = ["the job runs the notebook files as saved on disk, not your open tabs: save them first (Ctrl-S)"]
    lines += [f"  {key}: {path}, saved {time.strftime('%H:%M:%S', time.localtime(now - age))} ({_ago(age)})"
              for key, path, age in found]
    return lines


def _output(task) -> str:
    url = task.run_page_url or ""
    if url.startswith("file://"):
        url = url[len("file://"):]
    try:
        return os.path.relpath(url) if url and not url.startswith("http") and len(os.path.relpath(url)) < len(url) else url
    except ValueError:
        return url
