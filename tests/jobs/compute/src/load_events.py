# Databricks notebook source
# MAGIC %md
# MAGIC ### Load a few click events into a table on the shared cluster

# COMMAND ----------

from pyspark.sql import functions as F

events = (spark.range(0, 40)
          .withColumn("user_id", (F.col("id") % 7).cast("int"))
          .withColumn("event_type", F.when(F.col("id") % 3 == 0, "purchase").otherwise("view")))
events.write.mode("overwrite").saveAsTable("default.ap_click_events")

# COMMAND ----------

import os
dbutils.jobs.taskValues.set("rows", spark.table("default.ap_click_events").count())
dbutils.jobs.taskValues.set("cluster", os.environ.get("SPARK_REMOTE", "local"))
dbutils.jobs.taskValues.set("purchases", spark.sql(
    "SELECT count(*) AS n FROM default.ap_click_events WHERE event_type = 'purchase'").first()["n"])

# COMMAND ----------

# Settings kept next to the notebook, read by a relative path (as notebooks in a repo do)
import json
with open("./event_labels.json") as handle:
    labels = json.load(handle)
dbutils.jobs.taskValues.set("purchase_label", labels["purchase"])
dbutils.jobs.taskValues.set("working_dir", os.getcwd())
dbutils.jobs.taskValues.set("kernel_parent", os.getppid())   # who started this notebook's REPL
dbutils.jobs.taskValues.set("env", f"{os.environ.get('EVENTS_REGION', '-')}/{os.environ.get('EVENTS_SAMPLE', '-')}")
