// Databricks notebook source
// MAGIC %md
// MAGIC A Scala notebook: it runs on Databricks, not in the kit.

// COMMAND ----------

val orders = spark.table("workspace.nb_demo.orders_bronze")
display(orders)
