"""Who you are and what compute there is: SCIM `Me`, clusters list / get.

The local workspace has one user, the one `runner.py` runs as (`DATABRICKS_USERNAME` or the
login name). Its clusters are the job clusters the kit starts: a run's Spark Connect
server for each `job_clusters` entry of a running job, listed while the run is active,
`TERMINATED` once it ended (Databricks lists job clusters the same way).
"""
from __future__ import annotations

from databricks.sdk.service import compute, iam

from course.server.api.common import required, route
from course.server.errors import not_found


def me(state, args: dict) -> iam.User:
    """`GET /api/2.0/preview/scim/v2/Me`."""
    user = state.user
    return iam.User(id="1", user_name=user, display_name=user.split("@")[0], active=True,
                    emails=[iam.ComplexValue(value=user if "@" in user else f"{user}@localhost",
                                             primary=True, type="work")])


def local_clusters(state, limit: int = 100) -> list[compute.ClusterDetails]:
    """One cluster per job cluster of the latest runs: RUNNING while its run is active."""
    out = []
    for run in state.history.list_runs(limit=limit):
        _, settings = state.history.job_settings(run.job_id)
        active = not run.state or run.state.life_cycle_state is None or \
            run.state.life_cycle_state.value in ("PENDING", "QUEUED", "RUNNING", "TERMINATING", "BLOCKED")
        for cluster in settings.get("job_clusters") or []:
            key = cluster.get("job_cluster_key", "cluster")
            spec = cluster.get("new_cluster") or {}
            out.append(compute.ClusterDetails(
                cluster_id=f"{run.run_id}-{key}", cluster_name=f"job-{run.job_id}-run-{run.run_id}-{key}",
                spark_version=spec.get("spark_version"), node_type_id=spec.get("node_type_id"),
                num_workers=spec.get("num_workers"), spark_conf=spec.get("spark_conf") or None,
                cluster_source=compute.ClusterSource.JOB, creator_user_name=state.user,
                state=compute.State.RUNNING if active else compute.State.TERMINATED,
                start_time=run.start_time, terminated_time=None if active else run.end_time or None,
                state_message="local Spark Connect server" if active else "job run ended"))
    return out


def clusters_list(state, args: dict) -> dict:
    """`GET /api/2.1/clusters/list` (also 2.0)."""
    return {"clusters": [c.as_dict() for c in local_clusters(state)]}


def clusters_get(state, args: dict) -> compute.ClusterDetails:
    """`GET /api/2.1/clusters/get?cluster_id=…`."""
    wanted = str(required(args, "cluster_id"))
    for c in local_clusters(state, limit=1000):
        if c.cluster_id == wanted:
            return c
    raise not_found(f"Cluster {wanted} does not exist")


def routes(state) -> list:
    return [*route(state, "GET", "/preview/scim/v2/Me", me),
            *route(state, "GET", "/clusters/list", clusters_list, ("2.0", "2.1")),
            *route(state, "GET", "/clusters/get", clusters_get, ("2.0", "2.1"))]
