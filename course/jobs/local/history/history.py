"""`History`, the run history object the runner and the CLI use, put together from its parts.

Each part is a class in its own module, all on one open database (`db.Database`):
jobs and runs (`records`), task runs and task values (`tasks`), repairs (`repairs`),
orphans (`ownership`), admission and the queue (`admission`), the Jobs API views
(`api`) and the jobs by id (`jobtable`). Together they are one object on one SQLite file.
"""
from __future__ import annotations

from course.jobs.local.history.admission import Admission
from course.jobs.local.history.api import RunViews
from course.jobs.local.history.jobtable import JobTable
from course.jobs.local.history.repairs import Repairs
from course.jobs.local.history.tasks import TaskRuns


class History(RunViews, Admission, Repairs, TaskRuns, JobTable):
    """The run history database; one instance per process (reopened after a fork).

    `History(path=None, *, busy_timeout_s=30.0)` opens (creating or migrating) the file,
    by default `course.platform.paths.history_db()`; use it as a context manager or `close()` it.
    """
