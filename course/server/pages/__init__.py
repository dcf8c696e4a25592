"""The local workspace's HTML pages: jobs, a job's runs, a run's graph, a task run's notebook.

Server-rendered with Jinja2 templates (`templates/`), a little vanilla JS (`static/pages.js`)
for the buttons, which call the server's own Jobs API with the token, and for the live run
graph (server-sent events, `live.py`). No front-end build step.

    routes      page_routes(state) -> the Starlette routes below, mounted by `server.app`
    job_view    the jobs list; a job page: runs × tasks matrix, settings, trigger, next fire times
    run_view    a run page: the graph, attempts, durations, parameters, repairs, repair selection
    task_view   a task run page: parameters, task values, exit value, error, cluster logs
    graph       the task graph laid out by depth for an SVG
    notebook    an executed notebook as HTML (nbconvert, cached by mtime), its failing cell
    live        the run page's event stream
    links       page links for the lessons, when a local workspace is running
    editor      the job form written into a bundle YAML file, comments kept (ruamel.yaml)
    editor_routes  /jobs/new, /jobs/{job_id}/edit, the form's preview and save

Pages: /jobs, /jobs/{job_id}, /runs/{run_id} (or /jobs/{job_id}/runs/{run_id}; + /events), /task-runs/{task_run_id} (+ /notebook).
"""
from course.server.pages.routes import page_routes

__all__ = ["page_routes"]
