"""What the server's handlers share: `ServerState`.

One per server process. The API handlers and the pages read the history through it and
start, repair and cancel runs through its `launcher`; nothing else keeps state between
requests (the history and the state folder are the truth, shared with `runner.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.jobs.local.history import History
from course.platform import paths
from course.platform.user import current_user
from course.server.auth import load_or_create_token
from course.server.files import WorkspaceFiles
from course.server.jobstore import JobStore
from course.server.launcher import Launcher


@dataclass
class ServerState:
    """The server's shared objects.

    home      the state folder (`DAY7_HOME`, default `.day7/`)
    token     the bearer token every API call needs (kept in `home/server/token`)
    history   the run history (SQLite, shared with the runner; thread-safe)
    files     the workspace's files (`home/workspace/`)
    jobs      jobs as the Jobs API sees them (created through the API or run from the shell)
    launcher  starts / repairs / cancels runs in child processes
    user      the workspace user name (`DATABRICKS_USERNAME` or the login name)
    host      `http://127.0.0.1:<port>` once the server listens (links in pages and run_page_url)
    """

    home: Path
    token: str
    history: History
    files: WorkspaceFiles
    jobs: JobStore
    launcher: Launcher
    user: str
    host: str = ""
    started: list = field(default_factory=list)  # background threads (the scheduler), for stop()
    pages_served: bool = False  # course.server.pages is mounted (create_app)
    handler_limiter: Any = None  # the API handlers' thread limit (api.common), bound to the server's loop

    @classmethod
    def open(cls, home: Path | None = None) -> "ServerState":
        """The state of a server on `home` (default: the kit's state folder)."""
        home = Path(home).resolve() if home is not None else paths.home()
        home.mkdir(parents=True, exist_ok=True)
        history = History(home / "history.db")
        return cls(home=home, token=load_or_create_token(home), history=history,
                   files=WorkspaceFiles(home / "workspace"), jobs=JobStore(history, home / "workspace", current_user()),
                   launcher=Launcher(history, home), user=current_user())

    # ------------------------------------------------------------ what pages and API both start

    def run_now(self, job_id: int, job_parameters: dict[str, str] | None = None) -> int:
        """Start a run of job `job_id` in a child process; its run id once the run exists.
        ApiError (404 unknown job, 400 its file is gone) or launcher.LaunchError (the child's reason)."""
        return self.launcher.run_now(self.jobs.source(job_id), job_id, job_parameters or {})

    def repair(self, run_id: int, rerun_tasks: list[str] | None = None, rerun_dependents: bool = False,
               job_parameters: dict[str, str] | None = None) -> int:
        """Repair finished run `run_id` (rerun_tasks None: its unsuccessful tasks); the new repair id."""
        job_id = self.history.run_record(run_id).job_id
        return self.launcher.repair(self.jobs.source(job_id), run_id, rerun_tasks, rerun_dependents,
                                    job_parameters or {})

    def cancel(self, run_id: int) -> None:
        """Cancel run `run_id`: its process stops it; a run whose process is gone is closed by the history."""
        if not self.history.run_record(run_id).terminal and not self.launcher.cancel(run_id):
            self.history.close_orphans()

    def page_url(self, path: str = "/") -> str:
        """A page's URL with the token, for a browser's first visit (it then keeps a cookie)."""
        return f"{self.host}{path}?token={self.token}"

    def close(self) -> None:
        """Stop the children and the scheduler, close the history."""
        for stopper in self.started:
            stopper()
        self.launcher.stop()
        self.history.close()
