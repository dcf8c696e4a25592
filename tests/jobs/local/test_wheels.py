"""python_wheel_task, task libraries and job environments, end to end through the runner.

The bundle (tests/jobs/local/wheel_bundle, in the default-python template's shape) is copied
to a temporary folder; its artifact is built there by `uv build --wheel`, installed into an
isolated environment under the run's DAY7_HOME and called as Databricks calls entry points.
The job runs twice in one module fixture: the first run builds, the second reuses.
"""
from __future__ import annotations

import importlib.util
import shutil
import threading
from pathlib import Path

import pytest

from runner_fixtures import attempts, cli, final_states, module_home, output_notebook  # noqa: F401

pytestmark = pytest.mark.slow

BUNDLE = Path(__file__).parent / "wheel_bundle"


def _load(folder: Path, job_key: str):
    from course.jobs.spec import load_job

    return load_job(folder / "databricks.yml", job_key=job_key)


def _run(folder: Path, job_key: str, **options):
    from course.jobs.local.history import History
    from course.jobs.local.runner import LocalRunner, RunOptions

    notes: list[str] = []
    runner = LocalRunner(_load(folder, job_key), History(), RunOptions(on_note=notes.append, **options))
    run_id = runner.run()
    return runner.history.get_run(run_id), runner.history


def _log(task_run) -> str:
    return output_notebook(task_run).read_text()


@pytest.fixture(scope="module")
def wheel_runs(module_home, tmp_path_factory):
    """(bundle folder, first run, second run, history) of the wheel_demo job."""
    folder = tmp_path_factory.mktemp("bundle") / "wheel_demo"
    shutil.copytree(BUNDLE, folder)

    def both():
        first, history = _run(folder, "wheel_demo")
        envs_after_first = sorted(p.name for p in (module_home.home / "envs").iterdir())
        second, _ = _run(folder, "wheel_demo")
        return first, second, history, envs_after_first
    first, second, history, envs_after_first = module_home(both)
    return folder, first, second, history, envs_after_first


def test_the_wheel_entry_point_gets_named_parameters_and_the_job_parameters(wheel_runs):
    folder, first, *_ = wheel_runs
    assert final_states(first) == {"main_task": "SUCCESS", "report_task": "SUCCESS",
                                   "notebook_task": "SUCCESS", "script_task": "SUCCESS"}
    log = _log(attempts(first)["main_task"][-1])
    # argv[0] is the package name; named_parameters become --key=value, job parameters pushed down
    assert "main argv=['day7_wheel_demo', '--catalog=main', '--rows=3', '--run_date=2026-07-01']" in log
    assert "/envs/" in log.split("python=")[1]          # the isolated environment's interpreter
    assert (folder / "dist").is_dir() and list((folder / "dist").glob("day7_wheel_demo-0.1.0-*.whl"))


def test_an_entry_point_missing_from_the_metadata_is_called_as_package_function(wheel_runs):
    _, first, *_ = wheel_runs
    log = _log(attempts(first)["report_task"][-1])   # environment_key: the environment's dependencies
    assert "report argv=['day7_wheel_demo', 'first', '2026-07-01']" in log


def test_a_notebook_task_with_libraries_runs_its_kernel_in_their_environment(wheel_runs):
    _, first, _, history, _ = wheel_runs
    values = history.task_run_values(attempts(first)["notebook_task"][-1].run_id)
    assert "/envs/" in values["package_file"] and values["python"].endswith("/bin/python")
    assert "/envs/" in values["python"]


def test_pypi_and_requirements_libraries_already_in_the_kit_are_not_reinstalled(wheel_runs):
    _, first, *_ = wheel_runs
    log = _log(attempts(first)["script_task"][-1])
    yaml_file = log.split("yaml=")[1].splitlines()[0]
    assert "/envs/" not in yaml_file                  # "already satisfied" by the kit's own
    assert "/envs/" in log.split("python=")[1]


def test_the_kit_environment_never_gets_the_tasks_libraries(wheel_runs):
    assert importlib.util.find_spec("day7_wheel_demo") is None


def test_a_second_run_reuses_the_built_wheel_and_the_environments(wheel_runs, module_home):
    _, first, second, _, envs_after_first = wheel_runs
    assert set(final_states(second).values()) == {"SUCCESS"}
    assert sorted(p.name for p in (module_home.home / "envs").iterdir()) == envs_after_first
    built = [p for p in (module_home.home / "artifacts").iterdir() if p.is_dir()]
    assert len(built) == 1, built                     # one build for two runs
    # the same environment served both runs
    main = [_log(attempts(run)["main_task"][-1]).split("python=")[1].splitlines()[0] for run in (first, second)]
    assert main[0] == main[1]


def test_a_failed_install_fails_the_task_with_pips_one_line(tmp_path):
    folder = tmp_path / "b"
    shutil.copytree(BUNDLE, folder)
    run, _ = _run(folder, "broken_install")
    task = attempts(run)["bad_library"][-1]
    message = task.state.state_message
    assert final_states(run) == {"bad_library": "FAILED"}
    assert message.startswith("Library installation failed: ERROR: Invalid requirement: 'pyyaml>>6'"), message
    assert "\n" not in message and ".failed.log" in message


def test_an_artifact_without_a_build_needs_a_setup_py_as_with_the_cli(tmp_path):
    folder = tmp_path / "b"
    shutil.copytree(BUNDLE, folder)
    bundle = folder / "databricks.yml"
    bundle.write_text(bundle.read_text().replace("    build: uv build --wheel\n", ""))
    run, _ = _run(folder, "wheel_demo", layers=["main_task"])
    message = attempts(run)["main_task"][-1].state.state_message
    assert final_states(run) == {"main_task": "FAILED"}
    assert "artifact 'python_artifact' has no build command" in message
    assert "`python setup.py bdist_wheel`" in message and "build: uv build --wheel" in message


def test_a_jvm_library_is_refused_at_load_naming_the_task_and_the_library(tmp_path):
    folder = tmp_path / "b"
    shutil.copytree(BUNDLE, folder)
    code, out, err = cli(["run", "--job", str(folder / "databricks.yml"), "--job-key", "jvm_library"])
    assert code == 2
    assert "task 'with_jar': maven library 'com.example:parsers:1.0.0' is a JVM library" in err + out
    assert not (folder / "dist").exists()            # refused before anything was built or run


def test_concurrent_builders_of_one_environment_share_one_build(tmp_path):
    from course.jobs.local.environments.requirements import Requirements
    from course.jobs.local.environments.venvs import ensure_env, envs_dir

    req = Requirements(lines=["pyyaml>=6"])
    got: list = []
    pips: list = []   # every pip process started, by either builder
    threads = [threading.Thread(target=lambda: got.append(ensure_env(req, on_process=pips.append)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(got) == 2 and got[0] == got[1]
    assert len(pips) == 1                              # the second waited for the first, then reused it
    folders = [p for p in envs_dir().iterdir() if p.is_dir()]
    assert folders == [got[0].parent.parent] and (folders[0] / ".complete").is_file()


def test_deploy_refuses_local_library_paths_in_one_sentence(tmp_path):
    folder = tmp_path / "b"
    shutil.copytree(BUNDLE, folder)
    code, out, err = cli(["deploy", "--dry-run", "--job", str(folder / "databricks.yml"), "--job-key", "wheel_demo"])
    assert code == 2
    assert "'main_task' names the local file ../dist/*.whl: runner.py deploy does not build or upload artifacts" in err
    assert not (folder / "dist").exists()
