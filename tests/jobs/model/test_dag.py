"""course.jobs.model.dag: run_if, EXCLUDED, disabled, conditions, roll-up, repair — one row per rule."""
from __future__ import annotations

import random

import pytest
from databricks.sdk.service import jobs

from course.jobs.model import dag
from course.jobs.model.conditions import evaluate_condition, outcome


def task(key, *deps, run_if=None, disabled=None, condition=False, outcomes=None):
    """A jobs.Task; ``outcomes`` maps a dependency to its required condition outcome."""
    d = {"task_key": key,
         "depends_on": [{"task_key": k, **({"outcome": outcomes[k]} if outcomes and k in outcomes else {})}
                        for k in deps]}
    if run_if:
        d["run_if"] = run_if
    if disabled is not None:
        d["disabled"] = disabled
    if condition:
        d["condition_task"] = {"op": "EQUAL_TO", "left": "a", "right": "a"}
    else:
        d["notebook_task"] = {"notebook_path": f"./{key}.ipynb"}
    return jobs.Task.from_dict(d)


def decide_with(run_if, states, outcomes=None):
    keys = [f"d{i}" for i in range(len(states))]
    t = task("t", *keys, run_if=run_if)
    return dag.decide(t, {k: s for k, s in zip(keys, states) if s is not None}, outcomes)


# ---------------------------------------------------------------- run_if table (SEMANTICS)

RUN_IF_ROWS = [
    # ALL_SUCCESS: every dependency succeeded, else UPSTREAM_FAILED
    ("ALL_SUCCESS", ["SUCCESS", "SUCCESS"], "RUN"),
    ("ALL_SUCCESS", ["SUCCESS", "EXCLUDED"], "RUN"),            # EXCLUDED counts as success
    ("ALL_SUCCESS", ["SUCCESS", "FAILED"], "UPSTREAM_FAILED"),
    ("ALL_SUCCESS", ["SUCCESS", "TIMEDOUT"], "UPSTREAM_FAILED"),
    ("ALL_SUCCESS", ["INTERNAL_ERROR"], "UPSTREAM_FAILED"),
    ("ALL_SUCCESS", ["SUCCESS", "UPSTREAM_FAILED"], "UPSTREAM_FAILED"),
    ("ALL_SUCCESS", ["SUCCESS", "CANCELED"], "UPSTREAM_CANCELED"),
    ("ALL_SUCCESS", ["SUCCESS", "UPSTREAM_CANCELED"], "UPSTREAM_CANCELED"),
    ("ALL_SUCCESS", ["FAILED", "CANCELED"], "UPSTREAM_FAILED"),  # failure wins over cancel
    ("ALL_SUCCESS", ["SUCCESS", "DISABLED"], "DISABLED"),
    ("ALL_SUCCESS", ["FAILED", "DISABLED"], "UPSTREAM_FAILED"),  # a failure is never masked
    # AT_LEAST_ONE_SUCCESS
    ("AT_LEAST_ONE_SUCCESS", ["SUCCESS", "FAILED"], "RUN"),
    ("AT_LEAST_ONE_SUCCESS", ["EXCLUDED", "FAILED"], "RUN"),
    ("AT_LEAST_ONE_SUCCESS", ["FAILED", "FAILED"], "UPSTREAM_FAILED"),
    ("AT_LEAST_ONE_SUCCESS", ["UPSTREAM_FAILED", "TIMEDOUT"], "UPSTREAM_FAILED"),
    ("AT_LEAST_ONE_SUCCESS", ["DISABLED", "SUCCESS"], "RUN"),
    ("AT_LEAST_ONE_SUCCESS", ["DISABLED", "FAILED"], "UPSTREAM_FAILED"),
    ("AT_LEAST_ONE_SUCCESS", ["DISABLED", "DISABLED"], "DISABLED"),
    # NONE_FAILED: none failed and at least one executed
    ("NONE_FAILED", ["SUCCESS", "SUCCESS"], "RUN"),
    ("NONE_FAILED", ["SUCCESS", "UPSTREAM_FAILED"], "RUN"),      # UPSTREAM_FAILED is not "failed"
    ("NONE_FAILED", ["EXCLUDED", "UPSTREAM_FAILED"], "RUN"),
    ("NONE_FAILED", ["SUCCESS", "FAILED"], "UPSTREAM_FAILED"),
    ("NONE_FAILED", ["UPSTREAM_FAILED", "UPSTREAM_FAILED"], "UPSTREAM_FAILED"),  # none executed
    ("NONE_FAILED", ["CANCELED", "UPSTREAM_CANCELED"], "UPSTREAM_CANCELED"),
    ("NONE_FAILED", ["DISABLED", "DISABLED"], "DISABLED"),
    ("NONE_FAILED", ["DISABLED", "SUCCESS"], "RUN"),
    # ALL_DONE: always
    ("ALL_DONE", ["SUCCESS"], "RUN"),
    ("ALL_DONE", ["FAILED", "UPSTREAM_FAILED"], "RUN"),
    ("ALL_DONE", ["CANCELED"], "RUN"),
    ("ALL_DONE", ["DISABLED"], "RUN"),                           # a disabled parent is "done"
    ("ALL_DONE", ["TIMEDOUT", "EXCLUDED"], "RUN"),
    # AT_LEAST_ONE_FAILED: else EXCLUDED
    ("AT_LEAST_ONE_FAILED", ["SUCCESS", "FAILED"], "RUN"),
    ("AT_LEAST_ONE_FAILED", ["TIMEDOUT"], "RUN"),
    ("AT_LEAST_ONE_FAILED", ["INTERNAL_ERROR", "SUCCESS"], "RUN"),
    ("AT_LEAST_ONE_FAILED", ["SUCCESS", "SUCCESS"], "EXCLUDED"),
    ("AT_LEAST_ONE_FAILED", ["UPSTREAM_FAILED"], "EXCLUDED"),
    ("AT_LEAST_ONE_FAILED", ["SUCCESS", "CANCELED"], "RUN"),       # docs: cleanup runs after a cancel
    ("AT_LEAST_ONE_FAILED", ["SUCCESS", "UPSTREAM_CANCELED"], "RUN"),
    ("AT_LEAST_ONE_FAILED", ["DISABLED", "FAILED"], "RUN"),
    ("AT_LEAST_ONE_FAILED", ["DISABLED", "SUCCESS"], "DISABLED"),
    # ALL_FAILED: else EXCLUDED
    ("ALL_FAILED", ["FAILED", "TIMEDOUT"], "RUN"),
    ("ALL_FAILED", ["FAILED", "SUCCESS"], "EXCLUDED"),
    ("ALL_FAILED", ["FAILED", "UPSTREAM_FAILED"], "EXCLUDED"),
    ("ALL_FAILED", ["FAILED", "EXCLUDED"], "EXCLUDED"),
    ("ALL_FAILED", ["FAILED", "CANCELED"], "RUN"),
    ("ALL_FAILED", ["CANCELED", "SUCCESS"], "EXCLUDED"),
    ("ALL_FAILED", ["DISABLED"], "DISABLED"),
    ("ALL_FAILED", ["DISABLED", "SUCCESS"], "EXCLUDED"),
]


@pytest.mark.parametrize("run_if,states,expected", RUN_IF_ROWS,
                         ids=[f"{r}-{'+'.join(s)}" for r, s, _ in RUN_IF_ROWS])
def test_run_if_table(run_if, states, expected):
    assert decide_with(run_if, states) == expected


def test_default_run_if_is_all_success():
    t = task("t", "a")
    assert dag.decide(t, {"a": "FAILED"}) == "UPSTREAM_FAILED"
    assert dag.decide(t, {"a": "SUCCESS"}) == "RUN"


@pytest.mark.parametrize("run_if", sorted(dag.RUN_IFS))
def test_all_dependencies_excluded_means_excluded_whatever_run_if(run_if):
    assert decide_with(run_if, ["EXCLUDED", "EXCLUDED"]) == "EXCLUDED"


@pytest.mark.parametrize("run_if", sorted(dag.RUN_IFS))
@pytest.mark.parametrize("pending", [None, "RUNNING", "WAITING_FOR_RETRY"])
def test_not_decidable_until_every_dependency_finished(run_if, pending):
    assert decide_with(run_if, ["FAILED", pending]) is None


def test_no_dependencies_runs():
    assert dag.decide(task("t"), {}) == "RUN"


@pytest.mark.parametrize("deps", [{}, {"a": "SUCCESS"}, {"a": "FAILED"}])
def test_disabled_task_is_disabled_at_once(deps):
    assert dag.decide(task("t", "a", disabled=True), deps) == "DISABLED"


def test_sdk_enums_are_accepted():
    t = task("t", "a", run_if="ALL_DONE")
    assert dag.decide(t, {"a": jobs.RunResultState.FAILED}) == "RUN"


# ---------------------------------------------------------------- condition outcomes

COND_ROWS = [
    # (required outcome, condition task's state, its outcome, run_if, expected)
    ("true", "SUCCESS", "true", None, "RUN"),
    ("false", "SUCCESS", "false", None, "RUN"),
    ("true", "SUCCESS", "false", None, "EXCLUDED"),
    ("false", "SUCCESS", "true", None, "EXCLUDED"),
    ("true", "SUCCESS", True, None, "RUN"),                # a bool outcome is normalised
    ("true", "SUCCESS", None, None, "EXCLUDED"),           # no outcome recorded: branch not taken
    ("true", "SUCCESS", "false", "ALL_DONE", "EXCLUDED"),  # a branch gate beats run_if
    ("true", "FAILED", None, None, "UPSTREAM_FAILED"),     # condition errored: a failure
    ("true", "EXCLUDED", None, None, "EXCLUDED"),          # nested branch not taken
]


@pytest.mark.parametrize("required,state,got,run_if,expected", COND_ROWS)
def test_condition_outcome(required, state, got, run_if, expected):
    t = task("t", "c", run_if=run_if, outcomes={"c": required})
    outs = {"c": got} if got is not None else {}
    assert dag.decide(t, {"c": state}, outs) == expected


def test_mismatched_outcome_excludes_even_with_other_successful_deps():
    t = task("t", "c", "x", outcomes={"c": "true"})
    assert dag.decide(t, {"c": "SUCCESS", "x": "SUCCESS"}, {"c": "false"}) == "EXCLUDED"


def test_if_else_branches_and_join_end_to_end():
    tasks = [task("c", condition=True),
             task("yes", "c", outcomes={"c": "true"}),
             task("no", "c", outcomes={"c": "false"}),
             task("join", "yes", "no")]  # ALL_SUCCESS: the excluded branch counts as success
    final = dag.simulate(tasks, run=lambda k: "SUCCESS", outcome=lambda k: "true")
    assert final == {"c": "SUCCESS", "yes": "SUCCESS", "no": "EXCLUDED", "join": "SUCCESS"}
    assert dag.job_result(tasks, final) == ("SUCCESS", None)


# ---------------------------------------------------------------- whole runs

def chain():
    return [task("bronze"), task("silver", "bronze"), task("gold", "silver")]


def test_failure_propagates_down_a_chain():
    final = dag.simulate(chain(), run=lambda k: "FAILED" if k == "silver" else "SUCCESS")
    assert final == {"bronze": "SUCCESS", "silver": "FAILED", "gold": "UPSTREAM_FAILED"}
    assert dag.job_result(chain(), final) == ("FAILED", "silver")


def test_excluded_propagates_to_dependents():
    tasks = [task("a"), task("on_fail", "a", run_if="AT_LEAST_ONE_FAILED"),
             task("after", "on_fail"), task("after2", "after", run_if="ALL_DONE")]
    final = dag.simulate(tasks, run=lambda k: "SUCCESS")
    assert final == {"a": "SUCCESS", "on_fail": "EXCLUDED", "after": "EXCLUDED", "after2": "EXCLUDED"}
    assert dag.job_result(tasks, final) == ("SUCCESS", None)


def test_independent_branches_keep_running():
    tasks = [task("a"), task("b", "a"), task("c"), task("d", "c")]
    ran = []
    final = dag.simulate(tasks, run=lambda k: ran.append(k) or ("FAILED" if k == "a" else "SUCCESS"))
    assert final == {"a": "FAILED", "b": "UPSTREAM_FAILED", "c": "SUCCESS", "d": "SUCCESS"}
    assert "d" in ran and "b" not in ran
    assert dag.job_result(tasks, final) == ("FAILED", "a")


def test_disabled_task_disables_its_dependents_and_the_run_succeeds():
    tasks = [task("bronze", disabled=True), task("silver", "bronze"), task("gold", "silver")]
    final = dag.simulate(tasks, run=lambda k: "SUCCESS")
    assert final == {"bronze": "DISABLED", "silver": "DISABLED", "gold": "DISABLED"}
    assert dag.job_result(tasks, final) == ("SUCCESS", None)


def test_cleanup_task_runs_after_failure():
    tasks = [task("a"), task("cleanup", "a", run_if="ALL_DONE")]
    final = dag.simulate(tasks, run=lambda k: "FAILED" if k == "a" else "SUCCESS")
    assert final == {"a": "FAILED", "cleanup": "SUCCESS"}


# ---------------------------------------------------------------- leaf roll-up

ROLLUP_ROWS = [
    ("all success", {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "SUCCESS"}, ("SUCCESS", None)),
    ("leaf failed", {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "FAILED"}, ("FAILED", "gold")),
    ("leaf timed out", {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "TIMEDOUT"}, ("FAILED", "gold")),
    ("leaf internal error", {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "INTERNAL_ERROR"},
     ("FAILED", "gold")),
    ("leaf upstream failed names the cause",
     {"bronze": "FAILED", "silver": "UPSTREAM_FAILED", "gold": "UPSTREAM_FAILED"}, ("FAILED", "bronze")),
    ("canceled", {"bronze": "SUCCESS", "silver": "CANCELED", "gold": "UPSTREAM_CANCELED"},
     ("CANCELED", "silver")),
    ("leaf disabled", {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "DISABLED"}, ("SUCCESS", None)),
    ("leaf excluded", {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "EXCLUDED"}, ("SUCCESS", None)),
]


@pytest.mark.parametrize("name,states,expected", ROLLUP_ROWS, ids=[r[0] for r in ROLLUP_ROWS])
def test_leaf_rollup(name, states, expected):
    assert dag.job_result(chain(), states) == expected


def test_success_with_failures_when_only_a_non_leaf_failed():
    tasks = [task("a"), task("b"), task("report", "a", "b", run_if="AT_LEAST_ONE_SUCCESS")]
    states = {"a": "FAILED", "b": "SUCCESS", "report": "SUCCESS"}
    assert dag.job_result(tasks, states) == ("SUCCESS_WITH_FAILURES", "a")


def test_job_result_needs_a_finished_run():
    with pytest.raises(ValueError, match="gold"):
        dag.job_result(chain(), {"bronze": "SUCCESS", "silver": "SUCCESS"})


# ---------------------------------------------------------------- repair

REPAIR_ROWS = [
    ("default: failed + skipped because of it",
     {"bronze": "SUCCESS", "silver": "FAILED", "gold": "UPSTREAM_FAILED"}, {}, {"silver", "gold"}),
    ("rerun_all_failed",
     {"bronze": "SUCCESS", "silver": "FAILED", "gold": "UPSTREAM_FAILED"},
     {"rerun_all_failed": True}, {"silver", "gold"}),
    ("explicit task takes its skipped dependents",
     {"bronze": "SUCCESS", "silver": "FAILED", "gold": "UPSTREAM_FAILED"},
     {"rerun_tasks": ["silver"]}, {"silver", "gold"}),
    ("explicit successful task alone",
     {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "SUCCESS"}, {"rerun_tasks": ["bronze"]}, {"bronze"}),
    ("rerun_dependents adds successful downstream",
     {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "SUCCESS"},
     {"rerun_tasks": ["bronze"], "rerun_dependents": True}, {"bronze", "silver", "gold"}),
    ("canceled run", {"bronze": "SUCCESS", "silver": "CANCELED", "gold": "UPSTREAM_CANCELED"}, {},
     {"silver", "gold"}),
    ("never started counts as unsuccessful", {"bronze": "SUCCESS", "silver": "TIMEDOUT"}, {},
     {"silver", "gold"}),
    ("nothing to repair", {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "SUCCESS"}, {}, set()),
    ("disabled is not repaired", {"bronze": "SUCCESS", "silver": "SUCCESS", "gold": "DISABLED"}, {}, set()),
]


@pytest.mark.parametrize("name,states,kwargs,expected", REPAIR_ROWS, ids=[r[0] for r in REPAIR_ROWS])
def test_repair_selection(name, states, kwargs, expected):
    assert dag.repair_selection(chain(), states, **kwargs) == expected


def test_repair_keeps_the_healthy_branch():
    tasks = [task("a"), task("b", "a"), task("c"), task("d", "c")]
    states = {"a": "FAILED", "b": "UPSTREAM_FAILED", "c": "SUCCESS", "d": "SUCCESS"}
    assert dag.repair_selection(tasks, states) == {"a", "b"}


def test_repair_does_not_rerun_a_cleanup_that_ran_unless_asked():
    tasks = [task("a"), task("cleanup", "a", run_if="ALL_DONE")]
    states = {"a": "FAILED", "cleanup": "SUCCESS"}
    assert dag.repair_selection(tasks, states) == {"a"}
    assert dag.repair_selection(tasks, states, rerun_dependents=True) == {"a", "cleanup"}


def test_repair_errors():
    states = {"bronze": "SUCCESS", "silver": "FAILED", "gold": "UPSTREAM_FAILED"}
    with pytest.raises(ValueError, match=r"unknown task 'silvr' \(tasks: bronze, silver, gold\)"):
        dag.repair_selection(chain(), states, rerun_tasks=["silvr"])
    with pytest.raises(ValueError, match="mutually exclusive"):
        dag.repair_selection(chain(), states, rerun_tasks=["silver"], rerun_all_failed=True)


def test_repair_then_simulate_recovers_the_run():
    states = {"bronze": "SUCCESS", "silver": "FAILED", "gold": "UPSTREAM_FAILED"}
    chosen = dag.repair_selection(chain(), states)
    kept = {k: v for k, v in states.items() if k not in chosen}
    final = dag.simulate(chain(), run=lambda k: "SUCCESS", results=kept)
    assert dag.job_result(chain(), final) == ("SUCCESS", None)


# ---------------------------------------------------------------- graph shape

def test_validate_graph_errors():
    with pytest.raises(dag.GraphError, match=r"duplicate task key 'a' \(also tasks\[0\]\)") as e:
        dag.validate_graph([task("a"), task("a")])
    assert (e.value.kind, e.value.task_index) == ("duplicate", 1)
    with pytest.raises(dag.GraphError, match=r"task 'bronz' does not exist \(tasks: bronze, silver\)") as e:
        dag.validate_graph([task("bronze"), task("silver", "bronz")])
    assert (e.value.kind, e.value.task_index, e.value.dep_index) == ("missing", 1, 0)
    with pytest.raises(dag.GraphError, match=r"dependency cycle: a -> c -> b -> a") as e:
        dag.validate_graph([task("a", "c"), task("b", "a"), task("c", "b"), task("z")])
    assert e.value.cycle == ["a", "c", "b", "a"]
    with pytest.raises(dag.GraphError, match=r"dependency cycle: s -> s"):
        dag.validate_graph([task("s", "s")])


def test_topological_order_keeps_definition_order_on_ties():
    tasks = [task("gold", "silver"), task("x"), task("silver", "bronze"), task("bronze")]
    assert dag.topological_order(tasks) == ["x", "bronze", "silver", "gold"]


def test_upstream_downstream_leaves():
    tasks = [task("a"), task("b", "a"), task("c", "b"), task("d", "a"), task("e")]
    assert dag.upstream(tasks, ["c"]) == {"a", "b"}
    assert dag.downstream(tasks, ["a"]) == {"b", "c", "d"}
    assert dag.downstream(tasks, ["c"]) == set()
    assert dag.leaves(tasks) == ["c", "d", "e"]


def test_ready_lists_startable_and_skippable_tasks():
    tasks = [task("a"), task("b", "a"), task("c", "a", run_if="AT_LEAST_ONE_FAILED"), task("d")]
    assert dag.ready(tasks, {}, running=["d"]) == ["a"]
    assert dag.ready(tasks, {"a": "SUCCESS"}, running=["d"]) == ["b", "c"]
    assert dag.decide(tasks[2], {"a": "SUCCESS"}) == "EXCLUDED"
    assert dag.ready(tasks, {"a": "SUCCESS", "b": "SUCCESS", "c": "EXCLUDED", "d": "SUCCESS"}) == []


# ---------------------------------------------------------------- properties on random DAGs
# (seeded generator instead of hypothesis, which is not a dependency of the kit)

STATES = sorted(dag.TERMINAL)


def random_dag(rng: random.Random):
    n = rng.randint(1, 9)
    keys = [f"t{i}" for i in range(n)]
    rng.shuffle(keys)  # definition order differs from dependency order
    tasks = []
    for i, key in enumerate(keys):
        deps = rng.sample(keys[:i], rng.randint(0, min(i, 3)))
        tasks.append(task(key, *deps, run_if=rng.choice(sorted(dag.RUN_IFS)),
                          disabled=rng.random() < 0.1 or None))
    rng.shuffle(tasks)
    return tasks


@pytest.mark.parametrize("seed", range(150))
def test_properties_on_random_dags(seed):
    rng = random.Random(seed)
    tasks = random_dag(rng)
    keys = {t.task_key for t in tasks}
    order = dag.topological_order(tasks)
    pos = {k: i for i, k in enumerate(order)}
    assert sorted(order) == sorted(keys)
    assert all(pos[d.task_key] < pos[t.task_key] for t in tasks for d in t.depends_on or [])

    run_results = {k: rng.choice(["SUCCESS", "SUCCESS", "FAILED", "TIMEDOUT"]) for k in keys}
    final = dag.simulate(tasks, run=run_results.__getitem__)
    assert set(final) == keys and all(s in dag.TERMINAL for s in final.values())
    assert dag.job_result(tasks, final).result_state in ("SUCCESS", "SUCCESS_WITH_FAILURES", "FAILED")

    states = {k: rng.choice(STATES) for k in keys}
    children = dag.dependents(tasks)
    for kwargs in ({}, {"rerun_dependents": True},
                   {"rerun_tasks": rng.sample(sorted(keys), rng.randint(1, len(keys)))}):
        sel = dag.repair_selection(tasks, states, **kwargs)
        assert sel <= keys
        for k in sel:  # closed under "skipped because of"
            assert all(c in sel for c in children[k] if states[c] in dag.SKIPPED_BECAUSE_OF)
        if kwargs.get("rerun_dependents"):
            assert dag.downstream(tasks, sel) <= sel


# ---------------------------------------------------------------- condition_task comparisons

CONDITION_ROWS = [
    ("EQUAL_TO", "abc", "abc", True),
    ("EQUAL_TO", "12.0", "12", False),         # string comparison (Databricks docs)
    ("EQUAL_TO", "true", "true", True),
    ("EQUAL_TO", "True", "true", False),       # still a string comparison
    ("NOT_EQUAL", "a", "b", True),
    ("NOT_EQUAL", "1", "1", False),
    ("GREATER_THAN", "10", "9", True),         # numeric, not lexicographic
    ("GREATER_THAN", "9", "10", False),
    ("GREATER_THAN_OR_EQUAL", "12.0", "12", True),
    ("GREATER_THAN_OR_EQUAL", "10.0", "12", False),
    ("LESS_THAN", "-1", "0", True),
    ("LESS_THAN", "0.1", "0.10", False),
    ("LESS_THAN_OR_EQUAL", "1e3", "1000", True),
    ("LESS_THAN_OR_EQUAL", " 5 ", "4", False),
]


@pytest.mark.parametrize("op,left,right,expected", CONDITION_ROWS)
def test_evaluate_condition(op, left, right, expected):
    assert evaluate_condition(op, left, right) is expected
    assert dag.evaluate_condition(getattr(jobs.ConditionTaskOp, op), left, right) is expected
    assert outcome(op, left, right) == ("true" if expected else "false")


@pytest.mark.parametrize("op,left,right,message", [
    ("GREATER_THAN", "abc", "1", r"GREATER_THAN \(>\) compares numbers, but the left operand 'abc'"),
    ("LESS_THAN", "1", "", r"the right operand '' is not a number"),
    ("LESS_THAN", "NaN", "1", r"'NaN' is not a number"),
    ("CONTAINS", "a", "a", r"unknown condition op 'CONTAINS' \(expected one of: EQUAL_TO"),
])
def test_evaluate_condition_errors(op, left, right, message):
    with pytest.raises(ValueError, match=message):
        evaluate_condition(op, left, right)
