-- Databricks notebook source
-- MAGIC %md
-- MAGIC # Set up the demo schema
-- MAGIC A SQL notebook: a widget, a schema and a volume in the `workspace` catalog, and a small CSV to ingest.

-- COMMAND ----------

CREATE WIDGET TEXT schema DEFAULT "nb_demo"

-- COMMAND ----------

-- DBTITLE 1,Schema and volume
CREATE CATALOG IF NOT EXISTS workspace;
USE CATALOG workspace;
CREATE SCHEMA IF NOT EXISTS workspace.${schema} COMMENT 'orders demo';
CREATE VOLUME IF NOT EXISTS workspace.${schema}.landing

-- COMMAND ----------

-- MAGIC %python
-- MAGIC schema = dbutils.widgets.get("schema")
-- MAGIC rows = ["order_id,customer,amount,status"] + [
-- MAGIC     f"{i},c{i % 4},{i * 7.5:.2f},{'cancelled' if i % 5 == 0 else 'shipped'}" for i in range(1, 21)
-- MAGIC ]
-- MAGIC dbutils.fs.put(f"/Volumes/workspace/{schema}/landing/orders.csv", "\n".join(rows) + "\n", True)

-- COMMAND ----------

-- MAGIC %fs ls /Volumes/workspace

-- COMMAND ----------

USE SCHEMA ${schema};
SELECT current_catalog() AS catalog, current_database() AS schema
