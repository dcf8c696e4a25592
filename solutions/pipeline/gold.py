# Gold as pipeline datasets: the three tables of solutions/03_gold.ipynb, each a materialized view
# over silver_events (defined in silver_events.sql of the same pipeline).
import dlt
from pyspark.sql import Window
from pyspark.sql import functions as F

TOP_N = int(spark.conf.get("top_n", "10"))


def is_type(event_type):
    return F.col("event_type") == event_type


def funnel_counts():
    return [
        F.count(F.lit(1)).alias("events"),
        F.count_if(is_type("view")).alias("views"),
        F.count_if(is_type("cart")).alias("carts"),
        F.count_if(is_type("purchase")).alias("purchases"),
        F.coalesce(F.sum(F.when(is_type("purchase"), F.col("price"))), F.lit(0)).cast("decimal(20,2)").alias("revenue"),
    ]


def rate(part, whole):
    return F.when(F.col(whole) > 0, F.round(F.col(part) / F.col(whole), 4))




@dlt.table(comment="Daily funnel by category and brand", table_properties={"quality": "gold"})
# A warning, not a failure: a day can have purchases of a product whose views fell on the day before.
@dlt.expect("rates_are_shares", "conversion_rate IS NULL OR conversion_rate BETWEEN 0 AND 1")
def gold_daily_funnel():
    return (dlt.read("silver_events").groupBy("event_date", "category_code", "brand").agg(*funnel_counts())
            .withColumn("cart_rate", rate("carts", "views"))
            .withColumn("conversion_rate", rate("purchases", "views")))


@dlt.table(comment="The best-selling products", table_properties={"quality": "gold"})
def gold_top_products():
    best_first = [F.desc("revenue"), F.desc("purchases"), F.desc("views"), F.asc("product_id")]
    return (dlt.read("silver_events").groupBy("product_id")
            .agg(F.max("category_code").alias("category_code"), F.max("brand").alias("brand"), *funnel_counts())
            .orderBy(*best_first)
            .limit(TOP_N)
            .withColumn("rank", F.row_number().over(Window.partitionBy(F.lit(0)).orderBy(*best_first)))
            .select("rank", "product_id", "category_code", "brand", "views", "carts", "purchases", "revenue"))


@dlt.table(comment="One row per user session", table_properties={"quality": "gold"})
@dlt.expect("has_user", "user_id IS NOT NULL")
def gold_sessions():
    return (dlt.read("silver_events").where(F.col("user_session").isNotNull())
            .groupBy("user_session")
            .agg(F.min("user_id").alias("user_id"),
                 F.min("event_time").alias("session_start"),
                 F.max("event_time").alias("session_end"),
                 *funnel_counts())
            .withColumn("duration_s", F.col("session_end").cast("long") - F.col("session_start").cast("long"))
            .withColumn("converted", F.col("purchases") > 0))
