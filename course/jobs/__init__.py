"""The local job orchestrator.

Import-light on purpose: submodules load only when used.

* ``course.jobs.spec``             load + validate a bundle / Jobs API JSON → ``LoadedJob``
* ``course.jobs.model.params``     job/task parameters and ``{{…}}`` dynamic value references
* ``course.jobs.model.dag``        pure run_if / roll-up / repair rules over task states
* ``course.jobs.model.conditions`` condition_task comparisons
"""
