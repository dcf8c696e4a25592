# Databricks notebook source
# MAGIC %md
# MAGIC # Bronze: ingest orders
# MAGIC Reads the landing volume and writes `orders_bronze` in Delta. No `try: dbutils` cell: on Databricks
# MAGIC and in the kit's kernels `spark`, `dbutils` and `display` are already there.

# COMMAND ----------

# MAGIC %run ./includes/helpers

# COMMAND ----------

# DBTITLE 1,Parameters
dbutils.widgets.text("catalog", "workspace")
dbutils.widgets.text("schema", "nb_demo")
catalog = dbutils.widgets.get("catalog")
schema = dbutils.widgets.get("schema")

# COMMAND ----------

raw = (spark.read.format("csv")
       .option("header", "true")
       .option("inferSchema", "true")
       .load(f"/Volumes/{catalog}/{schema}/landing/"))
bronze = with_audit_columns(raw)
display(bronze.limit(5))

# COMMAND ----------

(bronze.write
    .format("delta")
    .mode("overwrite")
    .option("overwriteSchema", "true")
    .saveAsTable(table(catalog, schema, "orders_bronze")))

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT status, COUNT(*) AS orders
# MAGIC FROM workspace.${schema}.orders_bronze
# MAGIC GROUP BY status
# MAGIC ORDER BY status

# COMMAND ----------

by_status = {row["status"]: row["orders"] for row in _sqldf.collect()}
assert by_status == {"cancelled": 4, "shipped": 16}, by_status
assert spark.catalog.tableExists(f"{catalog}.{schema}.orders_bronze")
dbutils.jobs.taskValues.set("bronze_rows", spark.table(f"{catalog}.{schema}.orders_bronze").count())

# COMMAND ----------

# MAGIC %pip install great-expectations
