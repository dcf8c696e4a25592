"""Job notifications for local runs: e-mails over SMTP and webhook POSTs, Databricks semantics.

The run loop reports events to a :class:`Notifier`; it decides, from the job's
``JobSettings`` and each task's settings, who hears about what, and sends in a
background thread so a slow server never slows the run (SEMANTICS.md
"Notifications and health", Databricks' "Add notifications on a job")::

    from course.jobs import notify
    notifier = notify.Notifier(settings, on_note=print)   # NotifyConfigError: nothing runs
    notifier.run_started(run); ...; notifier.close()

The package, one concern a module:

* :mod:`.config`      where messages go: DAY7_SMTP*, the DAY7_WEBHOOKS file
* :mod:`.rules`       who hears about what: events, muting, alert_on_last_attempt, health
* :mod:`.messages`    what a message says: subject, body, e-mail, webhook payload
* :mod:`.transports`  how it travels: SMTP, the .eml outbox, a JSON POST
* :mod:`.notifier`    the Notifier: queueing, timers, background delivery
"""
from course.jobs.notify.config import (DEFAULT_FROM, NotifyConfigError, SmtpConfig, load_smtp_config,
                                       load_webhook_destinations)
from course.jobs.notify.messages import LOCAL_WORKSPACE_ID, Message
from course.jobs.notify.notifier import CLOSE_TIMEOUT_S, SEND_TIMEOUT_S, Notifier
from course.jobs.notify.rules import EVENTS, failed_tasks, health_threshold_seconds, outcome, task_of

__all__ = ["Notifier", "NotifyConfigError", "SmtpConfig", "Message", "health_threshold_seconds",
           "load_smtp_config", "load_webhook_destinations", "task_of", "failed_tasks", "outcome", "EVENTS",
           "DEFAULT_FROM", "LOCAL_WORKSPACE_ID", "SEND_TIMEOUT_S", "CLOSE_TIMEOUT_S"]
