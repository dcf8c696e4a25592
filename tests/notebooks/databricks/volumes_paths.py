# Databricks notebook source
# MAGIC %md
# MAGIC # Volumes and DBFS paths
# MAGIC Writes and reads through every spelling of a path that notebooks use: `/Volumes/…`, `dbfs:/Volumes/…`,
# MAGIC `dbfs:/…` and `/dbfs/…`, from the DataFrame API, SQL (`read_files`, ``parquet.`…` ``) and `dbutils.fs`.

# COMMAND ----------

dbutils.widgets.text("schema", "nb_demo")
schema = dbutils.widgets.get("schema")
volume = f"/Volumes/workspace/{schema}/landing"
scratch = "dbfs:/tmp/day7_paths"

# COMMAND ----------

# DBTITLE 1,Read the landing CSV with read_files
orders = spark.sql(f"""
  SELECT order_id, customer, amount, status
  FROM read_files('{volume}/orders.csv', format => 'csv', header => true)
""")
display(orders.limit(3))

# COMMAND ----------

# DBTITLE 1,Write to the volume and to DBFS
shipped = orders.where("status = 'shipped'")
shipped.write.mode("overwrite").parquet(f"{volume}/exports/shipped_parquet")
shipped.write.format("delta").mode("overwrite").save(f"dbfs:{volume}/exports/shipped_delta")
(orders.groupBy("customer").count()
    .write.mode("overwrite").option("header", "true").csv(f"{scratch}/by_customer"))
orders.write.mode("overwrite").json("/dbfs/tmp/day7_paths/orders_json")

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT COUNT(*) AS shipped FROM parquet.`/Volumes/workspace/${schema}/landing/exports/shipped_parquet`

# COMMAND ----------

assert _sqldf.first()["shipped"] == 16
assert spark.read.format("delta").load(f"{volume}/exports/shipped_delta").count() == 16
assert spark.read.option("header", "true").csv("/dbfs/tmp/day7_paths/by_customer").count() == 4
assert spark.read.json(f"{scratch}/orders_json").count() == 20

# COMMAND ----------

# DBTITLE 1,dbutils.fs sees the same files
exports = sorted(f.name for f in dbutils.fs.ls(f"dbfs:{volume}/exports"))
assert exports == ["shipped_delta/", "shipped_parquet/"], exports
assert [f.name for f in dbutils.fs.ls("/dbfs/tmp/day7_paths")] == [f.name for f in dbutils.fs.ls(scratch)]
dbutils.fs.rm(scratch, True)

# COMMAND ----------

# DBTITLE 1,Paths without a scheme are DBFS, as in older tutorials (/FileStore/…)
orders.write.format("delta").mode("overwrite").save("/FileStore/day7_paths/orders_delta")
assert spark.read.format("delta").load("/FileStore/day7_paths/orders_delta").count() == 20
assert [f.name for f in dbutils.fs.ls("dbfs:/FileStore/day7_paths")] == ["orders_delta/"]
assert [f.name for f in dbutils.fs.ls("/FileStore/day7_paths")] == ["orders_delta/"]
dbutils.fs.rm("dbfs:/FileStore/day7_paths", True)
dbutils.jobs.taskValues.set("exports", len(exports))
