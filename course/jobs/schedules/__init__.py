"""Schedules and triggers: Quartz cron, periodic, file arrival and continuous jobs, and the watch loop."""
