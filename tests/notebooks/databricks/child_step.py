# Databricks notebook source
import json

dbutils.widgets.text("schema", "nb_demo")
dbutils.widgets.text("threshold", "50")
schema = dbutils.widgets.get("schema")
threshold = float(dbutils.widgets.get("threshold"))

# COMMAND ----------

big = spark.sql(f"SELECT COUNT(*) AS n FROM workspace.{schema}.orders_bronze WHERE amount >= {threshold}").first()["n"]
dbutils.notebook.exit(json.dumps({"big_orders": big, "threshold": threshold}))
