# Databricks notebook source
# MAGIC %md
# MAGIC Shared helpers, pulled in with `%run ./includes/helpers`.

# COMMAND ----------

from pyspark.sql import functions as F

dbutils.widgets.text("min_amount", "0")
MIN_AMOUNT = float(dbutils.widgets.get("min_amount"))


def with_audit_columns(df):
    return df.withColumn("ingested_at", F.current_timestamp())


def table(catalog, schema, name):
    return f"{catalog}.{schema}.{name}"
