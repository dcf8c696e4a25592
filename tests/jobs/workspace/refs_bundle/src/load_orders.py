# Databricks notebook source
dbutils.widgets.text("catalog", "workspace")
catalog = dbutils.widgets.get("catalog")

# COMMAND ----------

spark.range(10).withColumnRenamed("id", "order_id").write.mode("overwrite").saveAsTable(f"{catalog}.retail.orders")
