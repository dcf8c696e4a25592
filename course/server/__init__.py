"""The learner's local workspace: `runner.py serve`, one server on 127.0.0.1.

It speaks the REST API that databricks-sdk and the Databricks CLI use (Jobs 2.2,
Workspace, current user, clusters) over the same engine and SQLite history as
`runner.py`, serves the HTML pages, and is the scheduler while it runs.

Modules:
    app       create_app(state) -> Starlette: the API routes, the pages' routes, auth
    state     ServerState: home folder, token, history, workspace files, launcher
    auth      the token (generated once, kept in the state folder), who may call what
    errors    ApiError and Databricks' error JSON ({"error_code", "message"})
    launcher  runs and repairs started in child processes; cancel
    worker    the child process's entry point (python -m course.server.worker)
    jobstore  jobs created through the API: their Jobs API JSON files
    files     the workspace's files under the state folder (notebooks, files, folders)
    scheduler every job's schedule or trigger watched while the server runs
    api/      one module per API family (jobs, runs, workspace, identity)

Layer: platform <- runtime <- jobs <- teaching <- server <- cli.
"""
