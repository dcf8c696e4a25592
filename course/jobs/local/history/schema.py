"""The SQLite schema of the run history and the scripts that upgrade an older file.

`PRAGMA user_version` holds a file's schema version; `MIGRATIONS[n]` takes a file from
version n-1 to n (version 1 creates the tables). A released script never changes, so
every existing history file still opens: a new schema is a new numbered script.
"""
from __future__ import annotations

SCHEMA_VERSION = 4

SCHEMA_V1 = """
CREATE TABLE id_seq (            -- one increasing id space for runs, task runs, repairs
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO id_seq (name, value) VALUES ('run', 0);

CREATE TABLE jobs (
    job_id       INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused
    name         TEXT NOT NULL UNIQUE,
    settings     TEXT NOT NULL,                      -- JSON snapshot of JobSettings
    created_time INTEGER NOT NULL,
    updated_time INTEGER NOT NULL
);

CREATE TABLE runs (
    run_id              INTEGER PRIMARY KEY,
    job_id              INTEGER NOT NULL REFERENCES jobs(job_id),
    run_name            TEXT NOT NULL,
    trigger             TEXT NOT NULL,
    creator             TEXT,
    job_parameters      TEXT NOT NULL,    -- JSON {name: value}, current (repairs merge overrides)
    parameter_defaults  TEXT NOT NULL,    -- JSON {name: default} from the settings at creation
    life_cycle_state    TEXT NOT NULL,    -- current state (of the latest repair when repaired)
    result_state        TEXT,
    state_message       TEXT NOT NULL DEFAULT '',
    termination_code    TEXT,             -- explicit override of the derived code
    termination_type    TEXT,
    start_time          INTEGER NOT NULL, -- epoch ms
    end_time            INTEGER,
    original_state      TEXT,             -- JSON snapshot of the ORIGINAL item, set by the first repair
    admitted            INTEGER NOT NULL DEFAULT 0,
    max_concurrent_runs INTEGER,
    queue_enabled       INTEGER,
    queued_since        INTEGER,
    queue_duration      INTEGER NOT NULL DEFAULT 0,
    owner_pid           INTEGER,
    owner_identity      TEXT,             -- "<boot id>:<start ticks>" from /proc, NULL elsewhere
    owner_host          TEXT
);
CREATE INDEX runs_by_job ON runs (job_id, run_id);
CREATE INDEX runs_by_state ON runs (life_cycle_state);

CREATE TABLE repairs (
    repair_id        INTEGER PRIMARY KEY,
    run_id           INTEGER NOT NULL REFERENCES runs(run_id),
    rerun_tasks      TEXT NOT NULL,       -- JSON list of task keys
    job_parameters   TEXT,                -- JSON overrides, NULL when none
    start_time       INTEGER NOT NULL,
    end_time         INTEGER,
    life_cycle_state TEXT NOT NULL,
    result_state     TEXT,
    state_message    TEXT NOT NULL DEFAULT '',
    termination_code TEXT,
    termination_type TEXT
);
CREATE INDEX repairs_by_run ON repairs (run_id, repair_id);

CREATE TABLE task_runs (
    task_run_id             INTEGER PRIMARY KEY,
    run_id                  INTEGER NOT NULL REFERENCES runs(run_id),
    repair_id               INTEGER REFERENCES repairs(repair_id),  -- NULL: the original run
    task_key                TEXT NOT NULL,
    attempt_number          INTEGER NOT NULL,
    original_attempt_run_id INTEGER NOT NULL,
    depends_on              TEXT NOT NULL,  -- JSON [{"task_key": …, "outcome"?: …}]
    notebook_path           TEXT,
    parameters              TEXT,           -- JSON {name: value} the task received
    life_cycle_state        TEXT NOT NULL,
    result_state            TEXT,
    state_message           TEXT NOT NULL DEFAULT '',
    termination_code        TEXT,
    termination_type        TEXT,
    start_time              INTEGER,
    end_time                INTEGER,
    output_path             TEXT,
    exit_value              TEXT,
    error                   TEXT,
    error_trace             TEXT
);
CREATE INDEX task_runs_by_run ON task_runs (run_id, task_key, task_run_id);
CREATE INDEX task_runs_by_key ON task_runs (task_key, result_state);

CREATE TABLE task_values (
    task_run_id INTEGER NOT NULL REFERENCES task_runs(task_run_id),
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,  -- JSON
    set_time    INTEGER NOT NULL,
    PRIMARY KEY (task_run_id, key)
) WITHOUT ROWID;
"""

# Version 2: where a job was loaded from (JSON {"file", "job_key", "target"}), so that
# `runner.py repair RUN_ID` repairs the run with the job it came from.
SCHEMA_V2 = """
ALTER TABLE jobs ADD COLUMN source TEXT
"""

# Version 3: each task run's own task type (`notebook_task`, `spark_python_task`, …) and
# that field's definition (JSON), so a task run renders as the task it ran. Rows written
# before stay NULL and render as notebook tasks, as they always did.
SCHEMA_V3 = """
ALTER TABLE task_runs ADD COLUMN task_type TEXT;
ALTER TABLE task_runs ADD COLUMN task_settings TEXT
"""

# Version 4: a for_each_task's iterations are task runs whose parent is the for-each task
# run (they are not tasks of the run: `runs/get` lists them under the parent), and a
# run_job_task's task run names the job run it started (`run_job_output.run_id`).
SCHEMA_V4 = """
ALTER TABLE task_runs ADD COLUMN parent_task_run_id INTEGER;
ALTER TABLE task_runs ADD COLUMN child_run_id INTEGER
"""

# version reached -> script upgrading from the previous version
MIGRATIONS: dict[int, str] = {1: SCHEMA_V1, 2: SCHEMA_V2, 3: SCHEMA_V3, 4: SCHEMA_V4}
