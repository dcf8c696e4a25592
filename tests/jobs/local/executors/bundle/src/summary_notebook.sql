-- Databricks notebook source
-- MAGIC %md
-- MAGIC ## Summary: written as a workspace exports a SQL notebook

-- COMMAND ----------

CREATE OR REPLACE TEMPORARY VIEW n AS SELECT id FROM range(5)

-- COMMAND ----------

SELECT count(*) AS n, sum(id) AS total FROM n
