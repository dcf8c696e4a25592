"""The pure rules of jobs: states, the task graph (run_if, roll-up, repair), conditions, parameters, cron. No I/O."""
