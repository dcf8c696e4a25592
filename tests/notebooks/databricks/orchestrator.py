# Databricks notebook source
# MAGIC %md
# MAGIC # Orchestrator
# MAGIC Runs `child_step` twice with `dbutils.notebook.run` (a path without extension, relative to this notebook).

# COMMAND ----------

import json

dbutils.widgets.text("schema", "nb_demo")
schema = dbutils.widgets.get("schema")
results = []
for threshold in ("50", "100"):
    returned = dbutils.notebook.run("child_step", 300, {"schema": schema, "threshold": threshold})
    results.append(json.loads(returned))
print(results)

# COMMAND ----------

assert [r["big_orders"] for r in results] == [14, 7], results
dbutils.jobs.taskValues.set("big_orders", results[0]["big_orders"])
dbutils.notebook.exit("orchestrated " + ",".join(str(r["big_orders"]) for r in results))
