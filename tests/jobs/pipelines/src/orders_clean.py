# Databricks notebook source
import dlt
from pyspark.sql import functions as F

# COMMAND ----------

quality_rules = {
    "known_customer": "customer IS NOT NULL",
    "positive_amount": "amount > 0",
}

@dlt.table(comment="Orders that pass the quality rules", table_properties={"quality": "silver"})
@dlt.expect_all_or_drop(quality_rules)
@dlt.expect("has_country", "country IS NOT NULL")
def orders_clean():
    return dlt.read_stream("orders_raw").select(
        "order_id", "customer", F.col("amount").cast("double").alias("amount"), "country")
