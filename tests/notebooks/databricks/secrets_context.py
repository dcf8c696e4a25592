# Databricks notebook source
# MAGIC %md
# MAGIC # Secrets and the notebook context
# MAGIC Reads an API token from the `day7` secret scope, finds out which notebook, user and job run this is,
# MAGIC and restarts Python after a `%pip install`, as notebooks do on Databricks.

# COMMAND ----------

# MAGIC %pip install --quiet requests

# COMMAND ----------

leftover = "defined before the restart"
dbutils.library.restartPython()

# COMMAND ----------

import json

assert "leftover" not in globals()
token = dbutils.secrets.get(scope="day7", key="api_token")
print(f"token: {token}")
headers = {"Authorization": f"Bearer {token}"}
assert headers["Authorization"].startswith("Bearer ") and len(token) > 8
scopes = [s.name for s in dbutils.secrets.listScopes()]
keys = [k.key for k in dbutils.secrets.list("day7")]
print(scopes, keys)

# COMMAND ----------

# DBTITLE 1,Where am I?
ctx = dbutils.notebook.entry_point.getDbutils().notebook().getContext()
notebook_path = ctx.notebookPath().get()
user = ctx.userName().get()
info = json.loads(ctx.toJson())
job_id = info["tags"].get("jobId")
run_id = info["tags"].get("multitaskParentRunId") or info["tags"].get("runId")
print(f"{notebook_path.split('/')[-1]} run by {user} in job {job_id}, run {run_id}")

# COMMAND ----------

dbutils.jobs.taskValues.set("notebook", notebook_path.split("/")[-1])
dbutils.jobs.taskValues.set("in_job", job_id is not None)
