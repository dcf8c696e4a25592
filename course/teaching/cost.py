"""What a run would cost on Databricks: an ESTIMATE from the run history and public list prices.

Lesson 03 runs the same tasks on a job cluster and on an all-purpose cluster; this module
reads those finished runs back from the history and prices them:

    DBUs = DBU/hour of one node × nodes (driver + workers) × hours the compute is billed
    cost = DBUs × $/DBU of the compute type (Jobs Compute or All-Purpose Compute)

A job cluster is billed from the run's start (it starts with the run) to the run's end (it
stops with it). An all-purpose cluster is billed for as long as it is up: this run's share
is the run's own span, and after its last run it stays up, idle and billed, until
`autotermination_minutes` pass; that idle tail is shown on its own.

Measured locally: start-up (run start until the first task's notebook began, i.e. cluster
and kernel ready), run time and wall time. On Databricks a cluster takes minutes to start,
not seconds; the prices are list prices and leave out the cloud provider's VM bill.
Every figure this module prints says "estimate".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

# --------------------------------------------------------------------------- the price list
# ONE table of constants, read on 2026-12-02. The $/DBU: Microsoft Learn's page on the Azure
# Databricks pre-purchase (each workload's DBUs draw down that many one-dollar commit units:
# Premium All-Purpose 0.55, Jobs 0.30; Standard 0.40, 0.15). The 0.75 DBU/h of a
# Standard_DS3_v2 node: the Azure Databricks pricing page's instance table, as quoted by
# public write-ups citing it (the page itself was not reachable from here), which quote the
# same $/DBU. List prices in USD, Premium tier, pay-as-you-go, before any discount; DBU
# charges only (the VMs are billed by Azure on top). Other clouds, tiers, regions and
# contracts differ: pass your own `Rates`.


@dataclass(frozen=True)
class Rates:
    """List prices for the estimate; `Rates(...)` or `AZURE_PREMIUM.but(...)` for your own."""

    label: str
    jobs_usd_per_dbu: float              # Jobs Compute (a job cluster)
    all_purpose_usd_per_dbu: float       # All-Purpose Compute (an interactive cluster)
    node_type: str
    node_dbu_per_hour: float             # DBUs one node of node_type consumes per hour
    source: str = ""
    read_on: str = ""

    def __post_init__(self):
        for name in ("jobs_usd_per_dbu", "all_purpose_usd_per_dbu", "node_dbu_per_hour"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise CostError(f"Rates.{name} must be a positive number, got {value!r}")

    def but(self, **changes) -> "Rates":
        """These rates with some changed, e.g. `AZURE_PREMIUM.but(node_dbu_per_hour=1.5)`."""
        unknown = sorted(set(changes) - set(self.__dataclass_fields__))
        if unknown:
            raise CostError(f"Rates has no field {', '.join(unknown)} (fields: "
                            f"{', '.join(self.__dataclass_fields__)})")
        if "label" not in changes:
            changes["label"] = f"{self.label}, with your {', '.join(sorted(changes))}"
        return replace(self, **changes)

    def usd_per_dbu(self, compute: str) -> float:
        return self.jobs_usd_per_dbu if compute == JOB_CLUSTER else self.all_purpose_usd_per_dbu


AZURE_PREMIUM = Rates(
    label="Azure Databricks, Premium tier, pay-as-you-go list price (USD)",
    jobs_usd_per_dbu=0.30,
    all_purpose_usd_per_dbu=0.55,
    node_type="Standard_DS3_v2",
    node_dbu_per_hour=0.75,
    source="https://learn.microsoft.com/en-us/azure/cost-management-billing/reservations/"
           "reservation-discount-databricks ; https://azure.microsoft.com/en-us/pricing/details/databricks/",
    read_on="2026-12-02",
)

JOB_CLUSTER = "job cluster"
ALL_PURPOSE = "all-purpose cluster"


class CostError(ValueError):
    """Bad input for an estimate: one sentence saying what is wrong."""


# --------------------------------------------------------------------------- what a run used

@dataclass(frozen=True)
class RunTimes:
    """A finished run's compute and timings, from the history (milliseconds in, seconds out)."""

    run_id: int
    job_name: str
    compute: str                  # JOB_CLUSTER or ALL_PURPOSE
    cluster: str                  # job_cluster_key, or the all-purpose cluster's key
    workers: int
    autotermination_minutes: float  # 0 for a job cluster (it stops with the run)
    start_up_s: float             # run start -> the first task's notebook began
    run_time_s: float             # from then to the run's end
    wall_s: float                 # run start -> run end


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _work_began(task_run) -> int | None:
    """When a task's code began: its executed notebook's papermill start (after the cluster and
    the kernel were ready), else the task run's own start (other task types, or a notebook gone)."""
    if task_run.output_path and Path(task_run.output_path).suffix == ".ipynb":
        import nbformat

        try:
            nb = nbformat.read(task_run.output_path, as_version=4)
            began = _ms(nb.metadata.get("papermill", {}).get("start_time"))
            if began is not None:
                return began
        except (OSError, ValueError):
            pass
    return task_run.start_time


def _compute_of(run_id: int, settings: dict, task_keys: set[str]) -> tuple[str, str, dict | None]:
    """(compute type, cluster key, its job-cluster spec) of the tasks that ran; one kind per run."""
    from course.jobs.local.compute import allpurpose

    used = set()
    job_clusters = {jc["job_cluster_key"]: jc.get("new_cluster") or {} for jc in settings.get("job_clusters") or []}
    for task in settings.get("tasks") or []:
        if task.get("task_key") not in task_keys:
            continue
        if task.get("job_cluster_key"):
            used.add((JOB_CLUSTER, task["job_cluster_key"]))
        elif task.get("new_cluster") is not None:
            used.add((JOB_CLUSTER, f"task:{task['task_key']}"))
            job_clusters[f"task:{task['task_key']}"] = task["new_cluster"]
        elif task.get("existing_cluster_id"):
            used.add((ALL_PURPOSE, allpurpose.cluster_key_of(task["existing_cluster_id"])))
        else:
            used.add(("none", ""))
    if ("none", "") in used:
        raise CostError(f"run {run_id} ran a task without a cluster (a Spark session per task; serverless on "
                        "Databricks): the estimate covers runs on one job cluster or one all-purpose cluster")
    if len(used) != 1:
        names = ", ".join(f"{kind} {key}" for kind, key in sorted(used)) or "none"
        raise CostError(f"run {run_id} used {len(used)} clusters ({names}): the estimate covers runs on one "
                        "job cluster or one all-purpose cluster")
    kind, key = used.pop()
    return kind, key, job_clusters.get(key) if kind == JOB_CLUSTER else None


def _all_purpose_resource(history, job_id: int, key: str) -> dict:
    """The bundle's resources.clusters.<key>, from the file the job was loaded from ({} if gone)."""
    from course.jobs.spec import JobSpecError, load_job

    source = history.job_source(job_id) or {}
    if not source.get("file") or not Path(source["file"]).is_file():
        return {}
    try:
        loaded = load_job(Path(source["file"]), job_key=source.get("job_key"), target=source.get("target"))
    except JobSpecError:  # the file changed since: the kit's defaults apply, as for an undeclared id
        return {}
    return loaded.clusters.get(key) or {}


def run_times(run_id: int, history=None) -> RunTimes:
    """A finished run's compute and timings; CostError for an unknown or unfinished run."""
    from course.jobs.local.compute import allpurpose
    from course.jobs.local.history import History, RunNotFound

    history = history or History()
    if isinstance(run_id, bool) or not isinstance(run_id, int):
        raise CostError(f"a run id is a whole number (see `python runner.py runs`), got {run_id!r}")
    try:
        run = history.run_record(run_id)
    except RunNotFound:
        try:
            job_run = history.task_run(run_id).run_id
        except RunNotFound:
            raise CostError(f"run {run_id} is not in the run history {history.path}") from None
        raise CostError(f"{run_id} is a task run of run {job_run}: pass the job run's id") from None
    if not run.terminal or run.end_time is None:
        raise CostError(f"run {run_id} has not finished ({run.life_cycle_state}): estimate it once it ends")
    if run.repair_count:
        raise CostError(f"run {run_id} was repaired: its span includes the wait before the repair; "
                        "estimate a run that ran once")
    tasks = [t for t in history.task_runs(run_id) if t.start_time is not None]
    if not tasks:
        raise CostError(f"run {run_id} ran no task ({run.state_message or run.result_state}): nothing to estimate")
    name, settings = history.job_settings(run.job_id)
    kind, key, spec = _compute_of(run_id, settings, {t.task_key for t in tasks})
    if kind == JOB_CLUSTER:
        spec = spec or {}
        workers = spec.get("num_workers") or (spec.get("autoscale") or {}).get("min_workers") or 0
        minutes = 0.0
    else:
        cluster = allpurpose.ClusterSpec.from_resource(key, _all_purpose_resource(history, run.job_id, key))
        workers, minutes = cluster.workers, cluster.autotermination_minutes
    began = min(b for b in (_work_began(t) for t in tasks) if b is not None)
    began = min(max(began, run.start_time), run.end_time)
    return RunTimes(run_id=run_id, job_name=name, compute=kind, cluster=key, workers=int(workers),
                    autotermination_minutes=float(minutes), start_up_s=(began - run.start_time) / 1000,
                    run_time_s=(run.end_time - began) / 1000, wall_s=(run.end_time - run.start_time) / 1000)


# --------------------------------------------------------------------------- the estimate

@dataclass(frozen=True)
class CostEstimate:
    """An ESTIMATE of a run's Databricks DBU cost at `rates` (list price; real bills differ)."""

    times: RunTimes
    rates: Rates
    nodes: int
    dbu_per_hour: float
    billed_s: float               # this run's share: the run's span on its cluster
    run_dbus: float
    run_usd: float
    idle_tail_s: float            # an all-purpose cluster's auto-termination wait after its last run
    idle_tail_usd: float

    def row(self) -> dict:
        """One row of the comparison table (every cost column says it is an estimate)."""
        t = self.times
        return {
            "run_id": t.run_id, "compute": t.compute, "start-up s": round(t.start_up_s, 1),
            "run time s": round(t.run_time_s, 1), "wall s": round(t.wall_s, 1), "nodes": self.nodes,
            "DBU/h": round(self.dbu_per_hour, 3), "billed s": round(self.billed_s, 1),
            "$/DBU": self.rates.usd_per_dbu(t.compute),
            "est. $ this run": round(self.run_usd, 6),
            "idle tail min": round(self.idle_tail_s / 60, 2),
            "est. $ idle tail": round(self.idle_tail_usd, 6),
            "est. $ total": round(self.run_usd + self.idle_tail_usd, 6),
        }


def estimate(times: RunTimes, rates: Rates = AZURE_PREMIUM, *,
             autotermination_minutes: float | None = None) -> CostEstimate:
    """Price one run; `autotermination_minutes` overrides the all-purpose cluster's own."""
    if not isinstance(rates, Rates):
        raise CostError(f"rates must be a course.teaching.cost.Rates, got {type(rates).__name__}")
    minutes = times.autotermination_minutes if autotermination_minutes is None else autotermination_minutes
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not math.isfinite(minutes) \
            or minutes < 0:
        raise CostError(f"autotermination_minutes must be a number of minutes, 0 or more, got {minutes!r}")
    nodes = 1 + times.workers
    dbu_per_hour = nodes * rates.node_dbu_per_hour
    price = rates.usd_per_dbu(times.compute)
    run_dbus = dbu_per_hour * times.wall_s / 3600
    tail_s = float(minutes) * 60 if times.compute == ALL_PURPOSE else 0.0
    return CostEstimate(times=times, rates=rates, nodes=nodes, dbu_per_hour=dbu_per_hour, billed_s=times.wall_s,
                        run_dbus=run_dbus, run_usd=run_dbus * price, idle_tail_s=tail_s,
                        idle_tail_usd=dbu_per_hour * tail_s / 3600 * price)


def compare(run_ids, rates: Rates = AZURE_PREMIUM, *, history=None, autotermination_minutes: float | None = None):
    """The comparison table (a pandas DataFrame, one row per run) of finished runs' ESTIMATED cost."""
    import pandas as pd

    if isinstance(run_ids, int) or not run_ids:
        raise CostError(f"compare takes a list of run ids, e.g. [12, 13], got {run_ids!r}")
    rows = [estimate(run_times(r, history), rates, autotermination_minutes=autotermination_minutes).row()
            for r in run_ids]
    return pd.DataFrame(rows).set_index("run_id")


def caveat(rates: Rates = AZURE_PREMIUM) -> str:
    """The sentence every printed estimate carries."""
    where = f" (source: {rates.source}, read {rates.read_on})" if rates.source else ""
    return (f"ESTIMATE at {rates.label}{where}: every node priced as a {rates.node_type} at "
            f"{rates.node_dbu_per_hour:g} DBU/h; Jobs Compute ${rates.jobs_usd_per_dbu:g}/DBU, All-Purpose Compute "
            f"${rates.all_purpose_usd_per_dbu:g}/DBU; DBU charges only (the cloud's VM bill comes on top); times "
            "measured on this machine, where a cluster starts in seconds (minutes on Databricks). "
            "Real bills differ.")
