# Databricks notebook source
# MAGIC %md
# MAGIC One iteration of a for-each task: the table name arrives as a widget.

# COMMAND ----------

dbutils.widgets.text("table", "")
table = dbutils.widgets.get("table")
print(f"rows in {table}: {spark.range(int(dbutils.widgets.get('rows'))).count()}")
