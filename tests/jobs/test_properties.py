"""Property tests (hypothesis, seeded and bounded): the DAG rules over random graphs and
outcomes, and random mutations of valid job files, which must be refused cleanly.

* every task ends in exactly one terminal state; run_if and EXCLUDED rules hold;
* the run's result follows the leaf rule (course.jobs.model.dag.job_result);
* a repair selects exactly the unsuccessful tasks and those skipped because of them;
* a mutated bundle YAML or Jobs JSON either loads or exits 2 naming the file — never a traceback.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from databricks.sdk.service import jobs
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from course.jobs.model import dag
from course.jobs.model.states import FAILED_STATES, LEAF_OK, SKIPPED_BECAUSE_OF, SUCCEEDED, TERMINAL_RESULTS
from course.platform.paths import REPO_ROOT
from runner_fixtures import BUNDLE, cli

RUN_IFS = sorted(dag.RUN_IFS)
OUTCOMES = ["SUCCESS", "FAILED", "TIMEDOUT", "INTERNAL_ERROR", "CANCELED"]
BOUNDED = settings(max_examples=150, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow])


@st.composite
def graphs(draw):
    """A random DAG of 1-9 tasks (each depends only on earlier ones), with run_if, disabled,
    condition tasks and outcome edges; plus each task's result should it run."""
    n = draw(st.integers(1, 9))
    tasks, results, conditions = [], {}, {}
    for i in range(n):
        key = f"t{i}"
        deps = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=3)) if i else []
        is_condition = draw(st.booleans()) if i % 3 == 0 else False
        depends_on = []
        for d in deps:
            edge = {"task_key": f"t{d}"}
            if f"t{d}" in conditions and draw(st.booleans()):
                edge["outcome"] = draw(st.sampled_from(["true", "false"]))
            depends_on.append(edge)
        spec = {"task_key": key, "depends_on": depends_on,
                "run_if": draw(st.sampled_from(RUN_IFS)) if deps else None,
                "disabled": draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans())}
        if is_condition:
            spec["condition_task"] = {"op": "EQUAL_TO", "left": "a", "right": "a"}
            conditions[key] = draw(st.sampled_from(["true", "false"]))
            results[key] = "SUCCESS"
        else:
            spec["notebook_task"] = {"notebook_path": f"./{key}.ipynb"}
            results[key] = draw(st.sampled_from(OUTCOMES))
        tasks.append(jobs.Task.from_dict({k: v for k, v in spec.items() if v is not None}))
    return tasks, results, conditions


def play(tasks, results, conditions, kept=None):
    ran: list[str] = []

    def run(key):
        ran.append(key)
        return results[key]
    final = dag.simulate(tasks, run, outcome=conditions.get, results=kept)
    return final, ran


@BOUNDED
@given(graphs())
def test_every_task_ends_in_exactly_one_terminal_state_by_the_run_if_rules(graph):
    tasks, results, conditions = graph
    final, ran = play(tasks, results, conditions)
    assert set(final) == {t.task_key for t in tasks}
    assert len(ran) == len(set(ran))                            # nothing runs twice
    assert all(final[k] in TERMINAL_RESULTS for k in final)
    by_key = {t.task_key: t for t in tasks}
    for key, state in final.items():
        task = by_key[key]
        deps = [d.task_key for d in task.depends_on or []]
        if key in ran:
            assert state == results[key] and not task.disabled
            dep_states = [final[d] for d in deps]
            run_if = (task.run_if.value if task.run_if else "ALL_SUCCESS")
            if deps:
                assert dag._met(run_if, dep_states), (key, run_if, dep_states)
                assert not all(s == "EXCLUDED" for s in dep_states)
            continue
        if task.disabled:
            assert state == "DISABLED"
        elif deps and all(final[d] == "EXCLUDED" for d in deps):
            assert state == "EXCLUDED"                          # EXCLUDED spreads, whatever run_if
        else:
            assert state in ("EXCLUDED", "UPSTREAM_FAILED", "UPSTREAM_CANCELED", "DISABLED"), (key, state)
        for d in task.depends_on or []:                         # a branch not taken is EXCLUDED
            if d.outcome and final[d.task_key] == "SUCCESS" and conditions.get(d.task_key) != d.outcome \
                    and not task.disabled:
                assert state == "EXCLUDED"


@BOUNDED
@given(graphs())
def test_the_run_result_follows_the_leaf_rule(graph):
    tasks, results, conditions = graph
    final, _ = play(tasks, results, conditions)
    result = dag.job_result(tasks, final)
    leaves = dag.leaves(tasks)
    if "CANCELED" in final.values():
        assert result.result_state == "CANCELED"
    elif any(final[k] not in LEAF_OK for k in leaves):
        assert result.result_state == "FAILED"
    elif any(s in FAILED_STATES or s in SKIPPED_BECAUSE_OF for s in final.values()):
        assert result.result_state == "SUCCESS_WITH_FAILURES"
    else:
        assert result == ("SUCCESS", None)
    if result.result_state != "SUCCESS":
        assert result.task_key in final and final[result.task_key] not in SUCCEEDED


@BOUNDED
@given(graphs())
def test_a_repair_selects_the_failed_tasks_and_those_skipped_because_of_them(graph):
    tasks, results, conditions = graph
    final, _ = play(tasks, results, conditions)
    selected = dag.repair_selection(tasks, final)
    unsuccessful = {k for k, s in final.items() if s not in SUCCEEDED and s != "DISABLED"}
    assert selected == unsuccessful
    # Repaired with every task now succeeding: kept tasks are not run again, and nothing
    # the repair re-runs is left skipped because of a task it did not re-run.
    kept = {k: s for k, s in final.items() if k not in selected}
    repaired, ran = play(tasks, {k: "SUCCESS" for k in results}, conditions, kept=kept)
    assert set(ran) <= selected
    assert {k: repaired[k] for k in kept} == kept
    assert not any(repaired[k] in SKIPPED_BECAUSE_OF for k in selected)


# ---------------------------------------------------------------- job files, mutated

def _paths(tree, prefix=()):
    """Every (path, value) in a nested dict/list."""
    yield prefix, tree
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _paths(v, prefix + (i,))


WEIRD = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**12), st.text(max_size=12),
                  st.just("{{tasks.nope.values.x}}"), st.just("${var.missing}"), st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.sampled_from(["task_key", "x", "depends_on"]), st.text(max_size=4), max_size=2))


@st.composite
def mutated(draw, tree):
    """`tree` with 1-3 random edits: a value replaced, a key deleted, or a list emptied."""
    tree = json.loads(json.dumps(tree))
    for _ in range(draw(st.integers(1, 3))):
        spots = [p for p, _ in _paths(tree) if p]
        path = draw(st.sampled_from(spots))
        parent = tree
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "replace"]))
        if action == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(WEIRD)
    return tree


def _refused_cleanly(tmp_path: Path, name: str, text: str, extra: list[str]) -> None:
    target = tmp_path / name
    target.write_text(text)
    code, out, err = cli(["run", "--job", str(target), *extra, "--max-parallel", "0"])
    # --max-parallel 0 stops a job that loads before anything runs (exit 2, after loading).
    assert code == 2, (code, err)
    assert "Traceback" not in err
    if "--max-parallel" not in err:
        assert name in err, err


def _bundle_tree():
    tree = yaml.safe_load(BUNDLE.read_text())
    for key, job in tree["resources"]["jobs"].items():   # notebooks resolved next to the copy
        for task in job.get("tasks", []):
            nb = task.get("notebook_task", {})
            if "notebook_path" in nb:
                nb["notebook_path"] = str((BUNDLE.parent / nb["notebook_path"]).resolve())
    return {"bundle": tree["bundle"], "variables": tree["variables"],
            "resources": {"jobs": {"run_if": tree["resources"]["jobs"]["run_if"],
                                   "condition": tree["resources"]["jobs"]["condition"]}}}


# No shrinking: a failing example is printed as drawn (shrinking a whole bundle takes minutes).
@settings(max_examples=int(os.environ.get("DAY7_PROPERTY_EXAMPLES", "40")), deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.generate])
@given(data=st.data())
def test_a_mutated_bundle_is_refused_with_the_file_named(data, tmp_path_factory):
    tree = data.draw(mutated(_bundle_tree()))
    _refused_cleanly(tmp_path_factory.mktemp("bundle"), "databricks.yml", yaml.safe_dump(tree),
                     ["--job-key", "condition"])


# No shrinking: a failing example is printed as drawn (shrinking a whole bundle takes minutes).
@settings(max_examples=int(os.environ.get("DAY7_PROPERTY_EXAMPLES", "40")), deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.generate])
@given(data=st.data())
def test_a_mutated_jobs_json_is_refused_with_the_file_named(data, tmp_path_factory):
    from course.jobs.spec import load_job

    settings_ = load_job(REPO_ROOT / "databricks.yml").settings.as_dict()
    tree = data.draw(mutated(settings_))
    _refused_cleanly(tmp_path_factory.mktemp("json"), "job.json", json.dumps(tree), [])


@pytest.mark.parametrize("text", ["", "[", "resources: [", "\x00\x01", "42", "- a\n- b\n", "{}"])
def test_unreadable_job_files_are_refused_with_the_file_named(text, tmp_path):
    for name in ("databricks.yml", "job.json"):
        _refused_cleanly(tmp_path, name, text, [])
