from pyspark import pipelines as dp
from pyspark.sql import functions as F

MIN_TOTAL = float(spark.conf.get("min_total"))


@dp.materialized_view(comment="Revenue per country")
@dp.expect_or_fail("total_above_minimum", f"revenue > {MIN_TOTAL}")
def revenue_by_country():
    return (spark.read.table("orders_clean")
            .groupBy(F.coalesce("country", F.lit("??")).alias("country"))
            .agg(F.round(F.sum("amount"), 2).alias("revenue"), F.count("*").alias("orders")))
