"""The local engine: plan an execution, run its loop and attempts, report events to listeners.

Start at `runner.LocalRunner`."""
