"""Load and validate a job definition: a Databricks Asset Bundle or a Jobs API JSON.

``load_job(path)`` returns a :class:`LoadedJob` whose ``settings`` is a
``databricks.sdk.service.jobs.JobSettings`` with local, absolute notebook paths;
every problem is a :class:`JobSpecError` naming the file, the field path and what
is wrong, e.g.::

    databricks.yml: resources.jobs.day7_medallion.tasks[1].depends_on[0]: task 'bronz' does not exist (tasks: bronze, silver, gold)

The rooms, in the order a bundle passes through them:

* ``reading``     JSON / YAML with line numbers in syntax errors; which kind of file
* ``bundle``      ``include``, targets and their overrides, development mode (CLI semantics)
* ``interpolate`` ``${var.*}``, ``${bundle.*}``, ``${workspace.*}``
* ``validate``    the databricks-sdk dataclasses, then graph / retries / clusters / cron
* ``files``       which local file a task path means
* ``loader``      ``load_job`` / ``list_jobs``: the order above, and :class:`LoadedJob`
* ``errors``      :class:`JobSpecError` and the wording of field paths and hints

The Quartz cron grammar is ``course.jobs.model.cron.validate_quartz_cron``.
"""
from course.jobs.spec.errors import JobSpecError
from course.jobs.spec.loader import DEFAULT_JOB_KEY, DEFAULT_TARGET, LoadedJob, list_jobs, load_job

__all__ = ["JobSpecError", "LoadedJob", "load_job", "list_jobs", "DEFAULT_JOB_KEY", "DEFAULT_TARGET"]
