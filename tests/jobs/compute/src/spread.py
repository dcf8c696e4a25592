# Databricks notebook source
# A shuffle over 4 partitions: with two workers its tasks run in both executors.
from pyspark.sql import functions as F

per_key = (spark.range(0, 200000, numPartitions=4)
           .groupBy((F.col("id") % 97).alias("k")).agg(F.count("*").alias("n")))
dbutils.jobs.taskValues.set("keys", per_key.count())

# COMMAND ----------

# Which executor ran each reduce-side task: an executor's working folder is its own.
where = "reflect('java.lang.System', 'getProperty', 'user.dir') AS executor_dir"
dirs = sorted(r.executor_dir for r in per_key.selectExpr(where).distinct().collect())
dbutils.jobs.taskValues.set("executor_dirs", dirs)
