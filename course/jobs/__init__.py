"""The job orchestrator: Databricks Jobs, locally and on a workspace.

Import-light on purpose: submodules load only when used.

* ``course.jobs.model``      pure rules: states, dag (run_if, roll-up, repair), params, cron
* ``course.jobs.spec``       load + validate a bundle / Jobs API JSON → ``LoadedJob``
* ``course.jobs.local``      the engine: ``LocalRunner`` runs and repairs with history and events
* ``course.jobs.schedules``  triggers and the watch loop
* ``course.jobs.notify``     e-mail and webhook notifications
* ``course.jobs.workspace``  deploy, run and repair on Databricks through databricks-sdk
"""
