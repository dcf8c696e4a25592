"""A fake Databricks workspace on 127.0.0.1 for tests: a test fixture, not a feature.

The real ``databricks.sdk.WorkspaceClient`` is pointed at it
(``DATABRICKS_HOST=http://127.0.0.1:<port>``, ``DATABRICKS_TOKEN=…`` or a
``.databrickscfg`` profile), so tests exercise the same code path as a real
workspace. It answers what the Day 7 kit's deploy / run / repair code and the
SDK call, the way Databricks does:

* ``/.well-known/databricks-config`` (host metadata the SDK fetches while it
  builds its Config; unauthenticated) and ``/api/2.0/preview/scim/v2/Me``.
* Workspace 2.0: ``mkdirs``, ``import`` (SOURCE / JUPYTER / RAW / AUTO, parent
  folder must exist, ``overwrite``), ``get-status``, ``export``, ``list``.
  ``/Workspace/Users/…`` and ``/Users/…`` name the same object.
* Jobs 2.2 (the paths SDK 0.162 uses): ``jobs/create|reset|get|list|delete|run-now``
  and ``jobs/runs/get|list|repair|get-output|cancel``.

Auth: ``Authorization: Bearer <token>``; missing or wrong → 401. ``forbidden``
maps a path prefix to a message and answers 403 PERMISSION_DENIED there.

Runs are simulated, one step per ``runs/get`` of that run (listing does not
advance anything), so a follower sees every task go PENDING → RUNNING →
TERMINATED over a few polls. Outcomes are scripted per task key with
:meth:`FakeDatabricks.script` (``"SUCCESS"``, ``"FAILED"``, ``("FAILED", msg)``,
``"TIMEDOUT"``; ``"true"`` / ``"false"`` for a condition task); each execution of
the task — attempt, retry or repair — takes the next one, then SUCCESS. A notebook
(or python file) missing from the workspace fails its task like Databricks does.

What the run looks like follows real workspaces:

* task run ids come from the same id space as job run ids and never equal them;
  retries (``max_retries``) add a task run with the next ``attempt_number``;
* ``run_if`` decides dependents (UPSTREAM_FAILED / EXCLUDED), ``disabled`` tasks
  end DISABLED, the run's result comes from its leaf tasks;
* a failed run reads ``state = {life_cycle_state: INTERNAL_ERROR, result_state:
  FAILED, state_message: "Task silver failed with message: …"}`` with
  ``status.state = TERMINATED`` and ``termination_details.code =
  RUN_EXECUTION_ERROR``; ``FakeDatabricks(failure_shape="TERMINATED")`` gives the
  other shape clients meet, ``TERMINATED / FAILED``;
* repairs run in the same run with the job's current settings, add a REPAIR item
  to ``repair_history`` (ORIGINAL has no id), and from the second repair on
  ``latest_repair_id`` is required: "The latest repair ID needs to be provided in
  order to create a new repair" (the workspace's message, as users report it).

Not simulated: clusters, real notebook execution, timeouts, schedules and
triggers (stored, never fired), permissions beyond ``forbidden``, for-each tasks.
Error texts that Databricks does not document are our wording.

Every request is recorded in ``requests`` (method, path, query, JSON body;
never headers), so a test can assert that nothing was called at all.
"""
from __future__ import annotations

import base64
import itertools
import json
import os
import re
import textwrap
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import pytest

DEFAULT_TOKEN = "dapi-fake-0123456789abcdef-secret"
DEFAULT_USER = "learner@example.com"
WORKSPACE_ID = "1234567890123456"

TERMINAL = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
SUCCEEDED = frozenset({"SUCCESS", "EXCLUDED", "DISABLED"})   # counts as success downstream
FAILED = frozenset({"FAILED", "TIMEDOUT", "INTERNAL_ERROR"})
NOT_EXECUTED = frozenset({"UPSTREAM_FAILED", "UPSTREAM_CANCELED", "CANCELED"})
REPAIRABLE = FAILED | NOT_EXECUTED
TASK_MESSAGE = "Workload failed, see run output for details"
MULTI_TASK_OUTPUT = ("Retrieving the output of runs with multiple tasks is not supported. "
                     "Please retrieve the output of each individual task run instead.")
LATEST_REPAIR_ID_MISSING = "The latest repair ID needs to be provided in order to create a new repair"


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


def _by_id(table: dict, raw_id: Any, what: str):
    """A job or run by the id a request gave, or the API's INVALID_PARAMETER_VALUE."""
    try:
        found = table.get(int(raw_id))
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise _bad(f"{what} {raw_id} does not exist.")
    return found


def _bad(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def _now() -> int:
    return int(time.time() * 1000)


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("true", "1")


def _canonical(path: str) -> str:
    """``/Workspace/Users/x`` and ``/Users/x`` are the same object."""
    if path == "/Workspace":
        return "/"
    return path[len("/Workspace"):] if path.startswith("/Workspace/") else path


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class TaskRun:
    run_id: int
    task_key: str
    attempt_number: int
    spec: dict                      # the task's settings when this task run was created
    born: int                       # simulation step it was created in
    life: str = "PENDING"
    result: str | None = None
    message: str = ""
    start_time: int = 0
    end_time: int = 0
    condition: str | None = None    # "true" / "false" for condition tasks
    output: str | None = None

    @property
    def terminal(self) -> bool:
        return self.life in TERMINAL


@dataclass
class JobRun:
    run_id: int
    job_id: int
    number_in_job: int
    name: str
    settings: dict                  # settings at run-now; repairs read the job's current ones
    parameters: list[dict]
    start_time: int
    life: str = "PENDING"
    result: str | None = None
    message: str = ""
    end_time: int = 0
    step: int = 0
    task_runs: list[TaskRun] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)   # ORIGINAL then REPAIR items

    def latest(self) -> dict[str, TaskRun]:
        out: dict[str, TaskRun] = {}
        for tr in self.task_runs:
            out[tr.task_key] = tr
        return out

    @property
    def terminal(self) -> bool:
        return self.life in TERMINAL


class FakeDatabricks:
    """The fake workspace. Use as a context manager or call start() / stop()."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, user: str = DEFAULT_USER,
                 failure_shape: str = "INTERNAL_ERROR"):
        if failure_shape not in ("INTERNAL_ERROR", "TERMINATED"):
            raise ValueError("failure_shape is INTERNAL_ERROR or TERMINATED")
        self.token, self.user, self.failure_shape = token, user, failure_shape
        self.forbidden: dict[str, str] = {}           # path prefix -> 403 message
        self.requests: list[Request] = []
        self.objects: dict[str, dict] = {}            # canonical path -> object
        self.jobs: dict[int, dict] = {}
        self.runs: dict[int, JobRun] = {}
        self.repairs: dict[int, int] = {}             # repair id -> run id
        self.pipelines: dict[str, dict] = {}          # pipeline id -> its spec
        self.clusters: dict[str, dict] = {}           # cluster id -> its spec (all-purpose clusters)
        self._outcomes: dict[str, deque] = {}
        self._ids = itertools.count(1000)             # one id space: jobs, runs, task runs, repairs
        self._object_ids = itertools.count(1)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for d in ("/", "/Users", f"/Users/{user}", "/Shared"):
            self._mkdir(d)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "FakeDatabricks":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def log_message(self, *args):  # keep test output clean
                pass

            def _serve(self):
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-databricks", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeDatabricks":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return self._server.server_address[1]

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------ scripting & inspection

    def script(self, task_key: str, *outcomes) -> None:
        """Outcomes of the next executions of ``task_key`` (then SUCCESS)."""
        with self._lock:
            self._outcomes.setdefault(task_key, deque()).extend(outcomes)

    def calls(self, path: str, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def api_calls(self) -> list[Request]:
        """Requests other than the SDK's unauthenticated host-metadata probe."""
        return [r for r in self.requests if not r.path.startswith("/.well-known/")]

    def content(self, path: str) -> bytes:
        return self.objects[_canonical(path)]["content"]

    # ------------------------------------------------------------ HTTP plumbing

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(Request(h.command, url.path, query, body))
        status, payload = 200, {}
        try:
            if body is None:
                raise ApiError(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request")
            route = self._routes().get((h.command, url.path)) or self._pipeline_route(h.command, url.path)
            if url.path.startswith("/.well-known/databricks-config") and h.command == "GET":
                payload = {"workspace_id": WORKSPACE_ID, "oidc_endpoint": f"{self.host}/oidc"}
            else:
                self._authenticate(h.headers.get("Authorization"))
                for prefix, message in self.forbidden.items():
                    if url.path.startswith(prefix):
                        raise ApiError(403, "PERMISSION_DENIED", message)
                if route is None:
                    raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{h.command} {url.path}'")
                args = query if h.command == "GET" else body
                with self._lock:
                    payload = route(args)
        except ApiError as exc:
            status, payload = exc.status, {"error_code": exc.error_code, "message": exc.message}
        except Exception as exc:  # a bug in the fake: make it loud, not a hang
            status, payload = 500, {"error_code": "INTERNAL_ERROR", "message": f"fake server bug: {exc!r}"}
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/octet-stream" if isinstance(payload, bytes)
                      else "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _authenticate(self, header: str | None) -> None:
        if not header or not header.startswith("Bearer "):
            raise ApiError(401, "UNAUTHENTICATED",
                           "Credential was not sent or was of an unsupported type for this API.")
        if header[len("Bearer "):] != self.token:
            raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")

    def _routes(self) -> dict[tuple[str, str], Callable[[dict], Any]]:
        return {
            ("GET", "/api/2.0/preview/scim/v2/Me"): self._me,
            ("POST", "/api/2.0/workspace/mkdirs"): self._ws_mkdirs,
            ("POST", "/api/2.0/workspace/import"): self._ws_import,
            ("GET", "/api/2.0/workspace/get-status"): self._ws_get_status,
            ("GET", "/api/2.0/workspace/export"): self._ws_export,
            ("GET", "/api/2.0/workspace/list"): self._ws_list,
            ("POST", "/api/2.2/jobs/create"): self._jobs_create,
            ("POST", "/api/2.2/jobs/reset"): self._jobs_reset,
            ("GET", "/api/2.2/jobs/get"): self._jobs_get,
            ("GET", "/api/2.2/jobs/list"): self._jobs_list,
            ("POST", "/api/2.2/jobs/delete"): self._jobs_delete,
            ("POST", "/api/2.2/jobs/run-now"): self._run_now,
            ("GET", "/api/2.2/jobs/runs/get"): self._runs_get,
            ("GET", "/api/2.2/jobs/runs/list"): self._runs_list,
            ("POST", "/api/2.2/jobs/runs/repair"): self._runs_repair,
            ("GET", "/api/2.2/jobs/runs/get-output"): self._runs_get_output,
            ("POST", "/api/2.2/jobs/runs/cancel"): self._runs_cancel,
            ("POST", "/api/2.0/pipelines"): self._pipelines_create,
            ("GET", "/api/2.0/pipelines"): self._pipelines_list,
            ("POST", "/api/2.1/clusters/create"): self._clusters_create,
            ("POST", "/api/2.1/clusters/edit"): self._clusters_edit,
            ("GET", "/api/2.1/clusters/get"): self._clusters_get,
            ("GET", "/api/2.1/clusters/list"): self._clusters_list,
        }

    # ------------------------------------------------------------ identity

    def _me(self, _args: dict) -> dict:
        return {"id": "4242", "userName": self.user, "displayName": self.user.split("@")[0],
                "active": True, "emails": [{"value": self.user, "primary": True, "type": "work"}]}

    # ------------------------------------------------------------ workspace

    def _mkdir(self, path: str) -> None:
        path = _canonical(path)
        parts = [p for p in path.split("/") if p]
        cur = ""
        for p in [""] + parts:
            cur = f"{cur}/{p}" if p else "/"
            cur = cur.replace("//", "/")
            obj = self.objects.get(cur)
            if obj is None:
                self.objects[cur] = {"object_type": "DIRECTORY", "path": cur,
                                     "object_id": next(self._object_ids)}
            elif obj["object_type"] != "DIRECTORY":
                raise ApiError(400, "RESOURCE_ALREADY_EXISTS",
                               f"Cannot create directory {cur} because a file or notebook exists there.")

    def _require_path(self, args: dict) -> str:
        path = args.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise _bad(f"Path ({path}) must be an absolute path starting with '/'.")
        return _canonical(path)

    def _ws_mkdirs(self, args: dict) -> dict:
        self._mkdir(self._require_path(args))
        return {}

    def _ws_import(self, args: dict) -> dict:
        path = self._require_path(args)
        fmt = (args.get("format") or "SOURCE").upper()
        language = args.get("language")
        try:
            content = base64.b64decode(args.get("content") or "", validate=True)
        except ValueError:
            raise _bad("content must be base64 encoded") from None
        if fmt == "JUPYTER":
            try:
                nb = json.loads(content)
                assert isinstance(nb, dict) and isinstance(nb.get("cells"), list)
            except (ValueError, AssertionError):
                raise _bad("Invalid notebook: the content is not a Jupyter notebook (.ipynb) document.") from None
            kind, language = "NOTEBOOK", "PYTHON"
        elif fmt == "SOURCE":
            if language not in ("PYTHON", "SQL", "SCALA", "R"):
                raise _bad("The language field is required when importing a notebook in SOURCE format.")
            kind = "NOTEBOOK"
        elif fmt in ("RAW", "AUTO"):
            is_nb = fmt == "AUTO" and content.lstrip().startswith(b"# Databricks notebook source")
            kind, language = ("NOTEBOOK", "PYTHON") if is_nb else ("FILE", None)
        else:
            raise _bad(f"Unsupported import format {fmt}.")
        if kind == "NOTEBOOK":
            for ext in (".ipynb", ".py", ".sql", ".scala", ".r"):
                if path.lower().endswith(ext):  # Databricks drops a notebook's extension
                    path = path[: -len(ext)]
        parent = self.objects.get(_parent(path))
        if parent is None or parent["object_type"] != "DIRECTORY":
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"The parent folder ({_parent(path)}) does not exist.")
        existing = self.objects.get(path)
        if existing is not None:
            if existing["object_type"] == "DIRECTORY":
                raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"{path} already exists and is a directory.")
            if not _truthy(args.get("overwrite", False)):
                raise ApiError(400, "RESOURCE_ALREADY_EXISTS", f"{path} already exists.")
        self.objects[path] = {"object_type": kind, "path": path, "language": language, "content": content,
                              "format": fmt, "object_id": (existing or {}).get("object_id") or next(self._object_ids),
                              "modified_at": _now()}
        return {}

    def _object(self, args: dict) -> dict:
        path = self._require_path(args)
        obj = self.objects.get(path)
        if obj is None:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({args.get('path')}) doesn't exist.")
        return obj

    @staticmethod
    def _info(obj: dict) -> dict:
        return {k: obj[k] for k in ("object_type", "path", "language", "object_id", "modified_at")
                if obj.get(k) is not None}

    def _ws_get_status(self, args: dict) -> dict:
        return self._info(self._object(args))

    def _ws_export(self, args: dict) -> Any:
        obj = self._object(args)
        if obj["object_type"] == "DIRECTORY":
            raise _bad(f"{obj['path']} is a directory; export it as DBC or one object at a time.")
        if _truthy(args.get("direct_download", False)):
            return obj["content"]
        file_type = {"JUPYTER": "ipynb"}.get(obj.get("format"), "py")
        return {"content": base64.b64encode(obj["content"]).decode(), "file_type": file_type}

    def _ws_list(self, args: dict) -> dict:
        path = self._object(args)["path"]
        items = [self._info(o) for p, o in sorted(self.objects.items()) if p != path and _parent(p) == path]
        return {"objects": items} if items else {}

    # ------------------------------------------------------------ jobs

    def _validate_settings(self, s: Any) -> dict:
        from databricks.sdk.service import jobs
        if not isinstance(s, dict):
            raise _bad("Job settings must be an object.")
        jobs.JobSettings.from_dict(s)  # shape check
        keys = [t.get("task_key") for t in s.get("tasks") or []]
        clusters = {c.get("job_cluster_key") for c in s.get("job_clusters") or []}
        for t in s.get("tasks") or []:
            if keys.count(t.get("task_key")) > 1:
                raise _bad(f"Task key '{t.get('task_key')}' is used by more than one task.")
            for d in t.get("depends_on") or []:
                if d.get("task_key") not in keys:
                    raise _bad(f"Task {t['task_key']} depends on {d.get('task_key')}, which is not a task of this job.")
            if t.get("job_cluster_key") and t["job_cluster_key"] not in clusters:
                raise _bad(f"Task {t['task_key']} refers to job cluster '{t['job_cluster_key']}', "
                           "which is not defined in job_clusters.")
            for task in (t, (t.get("for_each_task") or {}).get("task") or {}):
                if task.get("existing_cluster_id") and task["existing_cluster_id"] not in self.clusters:
                    raise _bad(f"Cluster {task['existing_cluster_id']} does not exist")
                run_job = task.get("run_job_task") or {}
                if "job_id" in run_job and (not isinstance(run_job["job_id"], int) or run_job["job_id"] not in self.jobs):
                    raise _bad(f"Job {run_job['job_id']} does not exist.")
        return json.loads(json.dumps(s))

    def _job(self, job_id: Any) -> dict:
        return _by_id(self.jobs, job_id, "Job")

    # ------------------------------------------------------------ pipelines (create, list, get, edit)

    def _pipeline_route(self, method: str, path: str):
        prefix = "/api/2.0/pipelines/"
        if not path.startswith(prefix) or "/" in path[len(prefix):]:
            return None
        handler = {"GET": self._pipelines_get, "PUT": self._pipelines_edit}.get(method)
        return (lambda args: handler(dict(args, pipeline_id=path[len(prefix):]))) if handler else None

    def _check_pipeline(self, spec: dict, own_id: str | None = None) -> dict:
        if not spec.get("name"):
            raise _bad("Pipeline name must be specified")
        if not spec.get("allow_duplicate_names") and any(
                p["name"] == spec["name"] and pid != own_id for pid, p in self.pipelines.items()):
            raise ApiError(409, "RESOURCE_CONFLICT", f"Pipeline name '{spec['name']}' already exists")
        for lib in spec.get("libraries") or []:
            for kind in ("file", "notebook"):
                path = (lib.get(kind) or {}).get("path")
                if path and _canonical(path) not in self.objects:
                    raise _bad(f"The {kind} library {path} does not exist in the workspace")
        return {k: v for k, v in spec.items() if k not in ("pipeline_id", "allow_duplicate_names", "dry_run")}

    def _pipelines_create(self, args: dict) -> dict:
        pipeline_id = f"pl-{next(self._ids)}"
        self.pipelines[pipeline_id] = self._check_pipeline(args)
        return {"pipeline_id": pipeline_id}

    def _pipeline(self, pipeline_id: str) -> dict:
        if pipeline_id not in self.pipelines:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Pipeline {pipeline_id} does not exist.")
        return self.pipelines[pipeline_id]

    def _pipelines_edit(self, args: dict) -> dict:
        self._pipeline(args["pipeline_id"])
        self.pipelines[args["pipeline_id"]] = self._check_pipeline(args, args["pipeline_id"])
        return {}

    def _pipelines_get(self, args: dict) -> dict:
        spec = self._pipeline(args["pipeline_id"])
        return {"pipeline_id": args["pipeline_id"], "name": spec["name"], "state": "IDLE", "spec": spec}

    def _pipelines_list(self, args: dict) -> dict:
        # the filter the kit sends: name LIKE '<name>' (no wildcards in our names)
        wanted = re.fullmatch(r"name LIKE '(.*)'", args.get("filter") or "")
        name = wanted.group(1).replace("''", "'") if wanted else None
        return {"statuses": [{"pipeline_id": pid, "name": p["name"], "state": "IDLE"}
                             for pid, p in self.pipelines.items() if name is None or p["name"] == name]}

    # ------------------------------------------------------------ clusters (create, edit, get, list)

    def _check_cluster(self, spec: dict) -> dict:
        if not spec.get("spark_version"):
            raise _bad("Missing required field: spark_version")
        minutes = spec.get("autotermination_minutes")
        if minutes is not None and not (isinstance(minutes, int) and (minutes == 0 or 10 <= minutes <= 10000)):
            raise _bad(f"Auto termination minutes must be 0 or between 10 and 10000, got {minutes}")
        return {k: v for k, v in spec.items() if k != "cluster_id"}

    def _clusters_create(self, args: dict) -> dict:
        cluster_id = f"1202-{next(self._ids):06d}-day7kit"
        self.clusters[cluster_id] = dict(self._check_cluster(args), state="PENDING")
        return {"cluster_id": cluster_id}

    def _cluster(self, cluster_id: Any) -> dict:
        if cluster_id not in self.clusters:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Cluster {cluster_id} does not exist")
        return self.clusters[cluster_id]

    def _clusters_edit(self, args: dict) -> dict:
        state = self._cluster(args.get("cluster_id"))["state"]
        self.clusters[args["cluster_id"]] = dict(self._check_cluster(args), state=state)
        return {}

    def _clusters_get(self, args: dict) -> dict:
        return dict(self._cluster(args.get("cluster_id")), cluster_id=args["cluster_id"])

    def _clusters_list(self, args: dict) -> dict:
        return {"clusters": [dict(c, cluster_id=cid) for cid, c in self.clusters.items()]}

    def _jobs_create(self, args: dict) -> dict:
        settings = {k: v for k, v in args.items() if k != "access_control_list"}
        settings.setdefault("name", "Untitled")
        settings = self._validate_settings(settings)
        job_id = next(self._ids)
        self.jobs[job_id] = {"job_id": job_id, "creator_user_name": self.user, "run_as_user_name": self.user,
                             "created_time": _now(), "settings": settings}
        return {"job_id": job_id}

    def _jobs_reset(self, args: dict) -> dict:
        job = self._job(args.get("job_id"))
        job["settings"] = self._validate_settings(args.get("new_settings"))
        return {}

    def _jobs_get(self, args: dict) -> dict:
        return json.loads(json.dumps(self._job(args.get("job_id"))))

    def _jobs_delete(self, args: dict) -> dict:
        self._job(args.get("job_id"))
        del self.jobs[int(args["job_id"])]
        return {}

    def _jobs_list(self, args: dict) -> dict:
        limit = int(args.get("limit") or 20)
        if not 1 <= limit <= 100:
            raise _bad("The limit must be between 1 and 100.")
        name = args.get("name")
        found = [j for j in sorted(self.jobs.values(), key=lambda j: -j["job_id"])
                 if name is None or j["settings"].get("name", "").lower() == name.lower()]
        start = int(args.get("page_token") or args.get("offset") or 0)
        page = found[start:start + limit]
        out = []
        for j in page:
            j = json.loads(json.dumps(j))
            if not _truthy(args.get("expand_tasks", False)):
                for k in ("tasks", "job_clusters"):
                    j["settings"].pop(k, None)
            out.append(j)
        more = start + limit < len(found)
        resp: dict = {"has_more": more}
        if out:
            resp["jobs"] = out
        if more:
            resp["next_page_token"] = str(start + limit)
        return resp

    # ------------------------------------------------------------ runs: creation

    def _new_task_runs(self, run: JobRun, specs: list[dict], item: dict) -> None:
        for spec in specs:
            tr = TaskRun(run_id=next(self._ids), task_key=spec["task_key"], attempt_number=0,
                         spec=json.loads(json.dumps(spec)), born=run.step)
            run.task_runs.append(tr)
            item["task_run_ids"].append(tr.run_id)

    def _run_now(self, args: dict) -> dict:
        job = self._job(args.get("job_id"))
        settings = json.loads(json.dumps(job["settings"]))
        overrides = args.get("job_parameters") or {}
        params = [{"name": p["name"], "default": p.get("default", ""),
                   "value": str(overrides.get(p["name"], p.get("default", "")))}
                  for p in settings.get("parameters") or []]
        number = sum(1 for r in self.runs.values() if r.job_id == job["job_id"]) + 1
        run = JobRun(run_id=next(self._ids), job_id=job["job_id"], number_in_job=number,
                     name=settings.get("name", "Untitled"), settings=settings, parameters=params,
                     start_time=_now())
        active = [r for r in self.runs.values() if r.job_id == job["job_id"] and not r.terminal]
        limit = settings.get("max_concurrent_runs") or 1
        item = {"type": "ORIGINAL", "start_time": run.start_time, "task_run_ids": []}
        run.history.append(item)
        self.runs[run.run_id] = run
        if len(active) >= limit:
            if (settings.get("queue") or {}).get("enabled"):
                run.life = "QUEUED"
                run.message = f"Queued due to reaching maximum concurrent runs of {limit}."
            else:
                run.life, run.result, run.end_time = "SKIPPED", None, run.start_time
                run.message = ("Skipping this run because the limit of {n} maximum concurrent runs has been "
                               "reached.").format(n=limit)
                self._close_item(run)
                return {"run_id": run.run_id, "number_in_job": number}
        self._new_task_runs(run, settings.get("tasks") or [], item)
        return {"run_id": run.run_id, "number_in_job": number}

    def _run(self, run_id: Any) -> JobRun:
        return _by_id(self.runs, run_id, "Run")

    # ------------------------------------------------------------ runs: simulation

    def _next_outcome(self, tr: TaskRun) -> tuple[str, str]:
        q = self._outcomes.get(tr.task_key)
        outcome = q.popleft() if q else "SUCCESS"
        if isinstance(outcome, tuple):
            return outcome[0], outcome[1]
        return outcome, TASK_MESSAGE if outcome in FAILED else ""

    def _missing_code(self, tr: TaskRun) -> str | None:
        nb = tr.spec.get("notebook_task")
        if nb and str(nb.get("source", "WORKSPACE")).upper() != "GIT":
            obj = self.objects.get(_canonical(nb.get("notebook_path", "")))
            if obj is None or obj["object_type"] != "NOTEBOOK":
                return (f'Unable to access the notebook "{nb.get("notebook_path")}". Either it does not exist, '
                        f"or the identity used to run this job, {self.user}, lacks the required permissions.")
        py = tr.spec.get("spark_python_task")
        if py and str(py.get("source", "WORKSPACE")).upper() != "GIT":
            path = py.get("python_file", "")
            if path.startswith("/") and (self.objects.get(_canonical(path)) or {}).get("object_type") != "FILE":
                return f"Python file {path} does not exist."
        return None

    def _finish_task(self, run: JobRun, tr: TaskRun, now: int) -> None:
        missing = self._missing_code(tr)
        if missing:
            result, message = "FAILED", missing
        elif tr.spec.get("condition_task") is not None:
            result, message = self._next_outcome(tr)
            tr.condition = "false" if result.lower() == "false" else "true"
            result, message = "SUCCESS", ""
        else:
            result, message = self._next_outcome(tr)
        tr.life, tr.result, tr.message, tr.end_time = "TERMINATED", result, message, now
        if result == "SUCCESS" and tr.spec.get("notebook_task") is not None:
            tr.output = f"{tr.task_key} done"
        retries = tr.spec.get("max_retries") or 0
        retry = result == "FAILED" or (result == "TIMEDOUT" and tr.spec.get("retry_on_timeout"))
        if retry and not missing and (retries == -1 or tr.attempt_number < retries):
            nxt = TaskRun(run_id=next(self._ids), task_key=tr.task_key, attempt_number=tr.attempt_number + 1,
                          spec=tr.spec, born=run.step, life="WAITING_FOR_RETRY")
            run.task_runs.append(nxt)
            run.history[-1]["task_run_ids"].append(nxt.run_id)

    def _decide(self, run: JobRun, tr: TaskRun, latest: dict[str, TaskRun]) -> str | None:
        """None → run it; else the terminal result it gets without running."""
        if tr.spec.get("disabled"):
            return "DISABLED"
        deps = tr.spec.get("depends_on") or []
        if not deps:
            return None
        states = []
        for d in deps:
            up = latest[d["task_key"]]
            res = up.result
            if d.get("outcome") is not None and res == "SUCCESS" and up.condition != d["outcome"]:
                res = "EXCLUDED"
            states.append(res)
        if all(s == "EXCLUDED" for s in states):
            return "EXCLUDED"
        ok = [s in SUCCEEDED for s in states]
        failed = [s in FAILED for s in states]
        executed = [s not in NOT_EXECUTED for s in states]
        run_if = tr.spec.get("run_if") or "ALL_SUCCESS"
        rules = {
            "ALL_SUCCESS": (all(ok), "UPSTREAM_FAILED"),
            "AT_LEAST_ONE_SUCCESS": (any(ok), "UPSTREAM_FAILED"),
            "NONE_FAILED": (not any(failed) and any(executed), "UPSTREAM_FAILED"),
            "ALL_DONE": (True, None),
            "AT_LEAST_ONE_FAILED": (any(failed), "EXCLUDED"),
            "ALL_FAILED": (all(failed), "EXCLUDED"),
        }
        go, otherwise = rules.get(run_if, rules["ALL_SUCCESS"])
        if not go and otherwise == "UPSTREAM_FAILED" and any(s == "UPSTREAM_CANCELED" or s == "CANCELED"
                                                             for s in states) and not any(failed):
            otherwise = "UPSTREAM_CANCELED"
        return None if go else otherwise

    def _step(self, run: JobRun) -> None:
        """One simulation step: finish running tasks, start the ready ones, roll up."""
        if run.terminal:
            return
        if run.life == "QUEUED":
            limit = run.settings.get("max_concurrent_runs") or 1
            active = [r for r in self.runs.values()
                      if r.job_id == run.job_id and r.life not in TERMINAL | {"QUEUED"}]
            if len(active) >= limit:
                return
            run.life, run.message = "PENDING", ""
            self._new_task_runs(run, run.settings.get("tasks") or [], run.history[-1])
            return
        run.step += 1
        now = _now()
        if run.life == "PENDING":
            run.life = "RUNNING"
        for tr in list(run.latest().values()):
            if tr.life == "RUNNING":
                self._finish_task(run, tr, now)
        latest = run.latest()
        for tr in latest.values():
            if tr.life not in ("PENDING", "WAITING_FOR_RETRY") or tr.born >= run.step:
                continue
            deps = tr.spec.get("depends_on") or []
            if not all(latest[d["task_key"]].terminal for d in deps):
                continue
            skip = self._decide(run, tr, latest)
            if skip is None:
                tr.life, tr.start_time = "RUNNING", now
            else:
                tr.life, tr.result, tr.start_time, tr.end_time = "TERMINATED", skip, now, now
                tr.message = {"UPSTREAM_FAILED": "Upstream task(s) failed.",
                              "UPSTREAM_CANCELED": "Upstream task(s) were canceled.",
                              "EXCLUDED": "This task was excluded by its run_if condition or an if/else branch.",
                              "DISABLED": "This task is disabled."}.get(skip, "")
        latest = run.latest()
        if all(tr.terminal for tr in latest.values()):
            self._roll_up(run, latest, now)

    def _roll_up(self, run: JobRun, latest: dict[str, TaskRun], now: int) -> None:
        specs = run.settings.get("tasks") or []
        upstream = {d["task_key"] for t in specs for d in t.get("depends_on") or []}
        leaves = [latest[t["task_key"]] for t in specs if t["task_key"] not in upstream and t["task_key"] in latest]
        order = [t["task_key"] for t in specs]
        failed = [latest[k] for k in order if k in latest and latest[k].result in FAILED]
        run.end_time = now
        if all(tr.result in SUCCEEDED for tr in leaves):
            run.life, run.message = "TERMINATED", ""
            run.result = "SUCCESS_WITH_FAILURES" if failed else "SUCCESS"
        else:
            first = failed[0] if failed else next(tr for tr in leaves if tr.result not in SUCCEEDED)
            canceled = first.result in ("CANCELED", "UPSTREAM_CANCELED")
            run.result = "CANCELED" if canceled and not failed else "FAILED"
            skipped = any(tr.result == "UPSTREAM_FAILED" for tr in latest.values())
            run.message = (f"Task {first.task_key} failed with message: {(first.message or TASK_MESSAGE).rstrip('.')}."
                           + (" This caused all downstream tasks to get skipped." if skipped else ""))
            run.life = self.failure_shape if run.result == "FAILED" else "TERMINATED"
        self._close_item(run)

    def _close_item(self, run: JobRun) -> None:
        item = run.history[-1]
        item["end_time"] = run.end_time
        item["state"] = self._state(run.life, run.result, run.message)
        item["status"] = self._run_status(run)

    # ------------------------------------------------------------ runs: rendering

    @staticmethod
    def _state(life: str, result: str | None, message: str) -> dict:
        out = {"life_cycle_state": life, "state_message": message, "user_cancelled_or_timedout": False}
        if life in TERMINAL and result:
            out["result_state"] = result
        return out

    @staticmethod
    def _termination(result: str | None, life: str, message: str) -> dict:
        code, kind = {
            "SUCCESS": ("SUCCESS", "SUCCESS"),
            "SUCCESS_WITH_FAILURES": ("SUCCESS_WITH_FAILURES", "SUCCESS"),
            "FAILED": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
            "TIMEDOUT": ("CANCELED", "CLIENT_ERROR"),
            "CANCELED": ("USER_CANCELED", "SUCCESS"),
            "UPSTREAM_FAILED": ("SKIPPED", "CLIENT_ERROR"),
            "UPSTREAM_CANCELED": ("SKIPPED", "CLIENT_ERROR"),
            "EXCLUDED": ("SKIPPED", "SUCCESS"),
            "DISABLED": ("DISABLED", "SUCCESS"),
        }.get(result or "", ("INTERNAL_ERROR", "INTERNAL_ERROR"))
        if life == "SKIPPED":
            code, kind = "MAX_CONCURRENT_RUNS_EXCEEDED", "CLIENT_ERROR"
        return {"code": code, "type": kind, "message": message}

    def _run_status(self, run: JobRun) -> dict:
        if run.terminal:
            return {"state": "TERMINATED",
                    "termination_details": self._termination(run.result, run.life, run.message)}
        if run.life == "QUEUED":
            return {"state": "QUEUED", "queue_details": {"code": "ACTIVE_RUNS_LIMIT_REACHED",
                                                          "message": run.message}}
        return {"state": run.life}

    def _render_task(self, run: JobRun, tr: TaskRun) -> dict:
        from databricks.sdk.service import jobs
        allowed = {f for f in jobs.RunTask.__dataclass_fields__}
        out = {k: v for k, v in tr.spec.items() if k in allowed}
        life = tr.life
        status: dict
        if tr.terminal:
            status = {"state": "TERMINATED", "termination_details": self._termination(tr.result, life, tr.message)}
        else:
            status = {"state": {"WAITING_FOR_RETRY": "WAITING"}.get(life, "BLOCKED" if life == "PENDING" and
                                                                    tr.spec.get("depends_on") else life)}
        duration = (tr.end_time or _now()) - tr.start_time if tr.start_time else 0
        out.update({
            "run_id": tr.run_id, "task_key": tr.task_key, "attempt_number": tr.attempt_number,
            "state": self._state(life, tr.result, tr.message), "status": status,
            "start_time": tr.start_time, "end_time": tr.end_time,
            "setup_duration": 0, "execution_duration": duration, "cleanup_duration": 0,
            "run_duration": duration,
            "run_page_url": f"{self.host}/jobs/{run.job_id}/runs/{tr.run_id}?o={WORKSPACE_ID}",
        })
        return out

    def _render_run(self, run: JobRun, *, tasks: bool = True, history: bool = False) -> dict:
        end = run.end_time
        out = {
            "job_id": run.job_id, "run_id": run.run_id, "number_in_job": run.number_in_job,
            "original_attempt_run_id": run.run_id, "run_name": run.name, "creator_user_name": self.user,
            "state": self._state(run.life, run.result, run.message), "status": self._run_status(run),
            "start_time": run.start_time, "end_time": end,
            "setup_duration": 0, "cleanup_duration": 0, "execution_duration": 0,
            "run_duration": (end or _now()) - run.start_time,
            "trigger": "ONE_TIME", "run_type": "JOB_RUN", "format": "MULTI_TASK",
            "run_page_url": f"{self.host}/jobs/{run.job_id}/runs/{run.run_id}?o={WORKSPACE_ID}",
            "job_parameters": run.parameters, "has_more": False,
        }
        if run.settings.get("job_clusters"):
            out["job_clusters"] = run.settings["job_clusters"]
        if tasks:
            out["tasks"] = [self._render_task(run, tr) for tr in run.task_runs]
        if history:
            out["repair_history"] = json.loads(json.dumps(run.history))
        return json.loads(json.dumps(out))

    # ------------------------------------------------------------ runs: endpoints

    def _task_run(self, run_id: Any) -> tuple[JobRun, TaskRun] | None:
        for run in self.runs.values():
            for tr in run.task_runs:
                if str(tr.run_id) == str(run_id):
                    return run, tr
        return None

    def _runs_get(self, args: dict) -> dict:
        found = self._task_run(args.get("run_id"))
        if found is not None:
            run, tr = found
            task = self._render_task(run, tr)
            return {**task, "job_id": run.job_id, "job_run_id": run.run_id, "tasks": [task]}
        run = self._run(args.get("run_id"))
        self._step(run)
        return self._render_run(run, history=_truthy(args.get("include_history", False)))

    def _runs_list(self, args: dict) -> dict:
        limit = int(args.get("limit") or 20)
        if not 1 <= limit <= 25:
            raise _bad("The limit must be between 1 and 25.")
        if _truthy(args.get("active_only", False)) and _truthy(args.get("completed_only", False)):
            raise _bad("active_only and completed_only cannot both be true.")
        runs = sorted(self.runs.values(), key=lambda r: (-r.start_time, -r.run_id))
        if args.get("job_id") is not None:
            runs = [r for r in runs if str(r.job_id) == str(args["job_id"])]
        if _truthy(args.get("active_only", False)):
            runs = [r for r in runs if not r.terminal]
        if _truthy(args.get("completed_only", False)):
            runs = [r for r in runs if r.terminal]
        start = int(args.get("page_token") or args.get("offset") or 0)
        page = runs[start:start + limit]
        more = start + limit < len(runs)
        resp: dict = {"has_more": more}
        if page:
            resp["runs"] = [self._render_run(r, tasks=_truthy(args.get("expand_tasks", False))) for r in page]
        if more:
            resp["next_page_token"] = str(start + limit)
        return resp

    def _runs_repair(self, args: dict) -> dict:
        run = self._run(args.get("run_id"))
        if not run.terminal or run.life == "SKIPPED":
            raise ApiError(400, "INVALID_STATE",
                           f"Run {run.run_id} cannot be repaired: only a finished run can be repaired "
                           f"(it is {run.life}).")
        repairs = [h for h in run.history if h["type"] == "REPAIR"]
        latest_id = args.get("latest_repair_id")
        if repairs and latest_id is None:
            raise _bad(LATEST_REPAIR_ID_MISSING)
        if latest_id is not None and (not repairs or int(latest_id) != repairs[-1]["id"]):
            raise _bad(f"Repair {latest_id} is not the latest repair of run {run.run_id}"
                       + (f" (the latest is {repairs[-1]['id']})." if repairs else " (it has not been repaired)."))
        rerun = args.get("rerun_tasks")
        all_failed = _truthy(args.get("rerun_all_failed_tasks", False))
        if rerun and all_failed:
            raise _bad("Only one of rerun_tasks or rerun_all_failed_tasks can be specified.")
        if not rerun and not all_failed:
            raise _bad("Either rerun_tasks or rerun_all_failed_tasks must be specified.")
        job = self.jobs.get(run.job_id)
        current = (job or {}).get("settings") or run.settings
        specs = {t["task_key"]: t for t in current.get("tasks") or []}
        latest = run.latest()
        if rerun:
            unknown = [k for k in rerun if k not in latest or k not in specs]
            if unknown:
                raise _bad(f"Task(s) {', '.join(unknown)} not found in run {run.run_id}.")
            chosen = list(dict.fromkeys(rerun))
        else:
            chosen = [k for k, tr in latest.items() if tr.result in REPAIRABLE or tr.life == "INTERNAL_ERROR"]
            if not chosen:
                raise _bad(f"Run {run.run_id} has no failed tasks to repair.")
        if _truthy(args.get("rerun_dependent_tasks", False)):
            grew = True
            while grew:
                grew = False
                for k, t in specs.items():
                    if k not in chosen and any(d["task_key"] in chosen for d in t.get("depends_on") or []):
                        chosen.append(k)
                        grew = True
        overrides = args.get("job_parameters") or {}
        for p in run.parameters:
            if p["name"] in overrides:
                p["value"] = str(overrides[p["name"]])
        repair_id = next(self._ids)
        self.repairs[repair_id] = run.run_id
        item = {"type": "REPAIR", "id": repair_id, "start_time": _now(), "task_run_ids": []}
        run.history.append(item)
        run.settings = json.loads(json.dumps(current))
        order = [k for k in specs if k in chosen]
        self._new_task_runs(run, [specs[k] for k in order], item)
        run.life, run.result, run.message, run.end_time = "PENDING", None, "", 0
        return {"repair_id": repair_id}

    def _runs_get_output(self, args: dict) -> dict:
        found = self._task_run(args.get("run_id"))
        if found is None:
            self._run(args.get("run_id"))  # a job run: its output lives in its task runs
            raise _bad(MULTI_TASK_OUTPUT)
        run, tr = found
        out: dict = {"metadata": {**self._render_task(run, tr), "job_id": run.job_id}}
        if tr.result in FAILED:
            out["error"] = tr.message or TASK_MESSAGE
            out["error_trace"] = f"Traceback (most recent call last):\n  ...\nException: {out['error']}"
        elif tr.output is not None:
            out["notebook_output"] = {"result": tr.output, "truncated": False}
        return out

    def _runs_cancel(self, args: dict) -> dict:
        run = self._run(args.get("run_id"))
        if run.terminal:
            return {}
        now = _now()
        for tr in run.latest().values():
            if not tr.terminal:
                started = tr.life == "RUNNING"
                tr.life, tr.end_time = "TERMINATED", now
                tr.result = "CANCELED" if started else "UPSTREAM_CANCELED"
                tr.message = "Run cancelled." if started else "Upstream task(s) were canceled."
        run.life, run.result, run.end_time, run.message = "TERMINATED", "CANCELED", now, "Run cancelled."
        self._close_item(run)
        return {}


def write_profile(path, name: str, host: str, token: str) -> None:
    """A ``.databrickscfg``-style file with one profile (point DATABRICKS_CONFIG_FILE at it)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"[{name}]\nhost = {host}\ntoken = {token}\n\n")


# ---------------------------------------------------------------- pytest fixtures and a test bundle
# Import them into a test module: ``from fake_databricks import clean_env, fake, connected, bundle``.

_AUTH_ENV_PREFIXES = ("DATABRICKS_", "ARM_", "AZURE_", "GOOGLE_")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No Databricks configuration at all: no auth env vars, an empty config file."""
    for name in list(os.environ):
        if name.startswith(_AUTH_ENV_PREFIXES) or name == "BUNDLE_VAR_compute":
            monkeypatch.delenv(name, raising=False)
    cfg = tmp_path / "databrickscfg"
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(cfg))
    return cfg


@pytest.fixture
def fake(clean_env):
    with FakeDatabricks() as server:
        yield server


@pytest.fixture
def connected(fake, monkeypatch):
    """The SDK's environment points at the fake workspace."""
    monkeypatch.setenv("DATABRICKS_HOST", fake.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", fake.token)
    return fake


def notebook_json(title: str, body: str = "print('ok')") -> str:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": [f"# {title}"]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
         "source": ["# On Databricks, dbutils and spark already exist; elsewhere the Day 7 kit stands in for them.\n",
                    "try:\n", "    dbutils\n", "except NameError:\n",
                    "    from course.runtime import dbutils, spark, display\n"]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": [body]},
    ]
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                    "language": "python"}},
                       "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


BUNDLE_YML = textwrap.dedent("""\
    bundle:
      name: day7

    variables:
      catalog:
        default: workspace
      schema:
        default: day7
      source_path:
        default: /Volumes/workspace/day7/raw/events
      alert_email:
        default: day7-learner@example.com
      spark_version:
        default: 15.4.x-scala2.12
      node_type_id:
        default: i3.xlarge
      num_workers:
        default: 1
      compute:
        description: job_cluster (a new cluster per run) or serverless; read by runner.py deploy
        default: job_cluster

    targets:
      local:
        default: true
        variables:
          catalog: spark_catalog
      dev:
        mode: development
        variables:
          node_type_id: m5d.large
          num_workers: 2
      serverless:
        mode: development
        variables:
          compute: serverless
      prod:
        mode: production
        workspace:
          root_path: /Workspace/Shared/.bundle/day7/prod

    resources:
      jobs:
        day7_medallion:
          name: day7-medallion
          max_concurrent_runs: 1
          queue:
            enabled: true
          job_clusters:
            - job_cluster_key: day7_cluster
              new_cluster:
                spark_version: ${var.spark_version}
                node_type_id: ${var.node_type_id}
                num_workers: ${var.num_workers}
                spark_conf:
                  spark.sql.shuffle.partitions: "8"
          parameters:
            - name: source_path
              default: ${var.source_path}
            - name: catalog
              default: ${var.catalog}
            - name: schema
              default: ${var.schema}
            - name: run_date
              default: "{{job.start_time.iso_date}}"
          tasks:
            - task_key: bronze
              job_cluster_key: day7_cluster
              max_retries: 2
              min_retry_interval_millis: 5000
              notebook_task:
                notebook_path: ./solutions/01_bronze.ipynb
            - task_key: silver
              depends_on:
                - task_key: bronze
              job_cluster_key: day7_cluster
              notebook_task:
                notebook_path: ./solutions/02_silver.ipynb
            - task_key: gold
              depends_on:
                - task_key: silver
              job_cluster_key: day7_cluster
              notebook_task:
                notebook_path: ./solutions/03_gold.ipynb
          schedule:
            quartz_cron_expression: 0 0 2 * * ?
            timezone_id: UTC
          email_notifications:
            on_failure:
              - ${var.alert_email}
          health:
            rules:
              - metric: RUN_DURATION_SECONDS
                op: GREATER_THAN
                value: 1200
          permissions:
            - level: CAN_VIEW
              group_name: users

        day7_quality:
          name: day7-quality
          job_clusters:
            - job_cluster_key: day7_cluster
              new_cluster:
                spark_version: ${var.spark_version}
                node_type_id: ${var.node_type_id}
                num_workers: ${var.num_workers}
          tasks:
            - task_key: count
              job_cluster_key: day7_cluster
              spark_python_task:
                python_file: ./scripts/check_counts.py
                parameters: ["--schema", "${var.schema}"]
            - task_key: report
              depends_on:
                - task_key: count
              job_cluster_key: day7_cluster
              notebook_task:
                notebook_path: ./solutions/03_gold.ipynb
    """)


def write_bundle(root: Path) -> Path:
    """The Day 7 bundle's shape with three small notebooks and a python file."""
    (root / "solutions").mkdir(parents=True, exist_ok=True)
    (root / "scripts").mkdir(exist_ok=True)
    (root / "databricks.yml").write_text(BUNDLE_YML, encoding="utf-8")
    for name, title in (("01_bronze", "Bronze"), ("02_silver", "Silver"), ("03_gold", "Gold")):
        (root / "solutions" / f"{name}.ipynb").write_text(notebook_json(title), encoding="utf-8")
    (root / "scripts" / "check_counts.py").write_text("import sys\nprint(sys.argv[1:])\n", encoding="utf-8")
    return root


@pytest.fixture
def bundle(tmp_path):
    return write_bundle(tmp_path / "bundle")
