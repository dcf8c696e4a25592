-- Silver as a pipeline dataset: the same rules as solutions/02_silver.ipynb, declared instead of written.
-- One row per distinct bronze event (_copies counts the duplicates), typed and cleaned.
-- ${bronze_table} comes from the pipeline's configuration (databricks.yml).
CREATE OR REFRESH MATERIALIZED VIEW silver_events (
  CONSTRAINT typed_event_time EXPECT (event_time IS NOT NULL) ON VIOLATION DROP ROW,
  CONSTRAINT known_event_type EXPECT (event_type IN ('view', 'cart', 'remove_from_cart', 'purchase')),
  CONSTRAINT non_negative_price EXPECT (price >= 0) ON VIOLATION FAIL UPDATE
)
COMMENT "Typed, de-duplicated, cleaned e-commerce events (Day 7, pipeline version)"
TBLPROPERTIES ("quality" = "silver")
AS SELECT
  to_timestamp(event_time, 'yyyy-MM-dd HH:mm:ss z') AS event_time,
  to_date(substring(event_time, 1, 10)) AS event_date,
  event_type,
  product_id,
  category_id,
  nullif(category_code, '') AS category_code,
  get(split(nullif(category_code, ''), '[.]'), 0) AS category_l1,
  get(split(nullif(category_code, ''), '[.]'), 1) AS category_l2,
  get(split(nullif(category_code, ''), '[.]'), 2) AS category_l3,
  nullif(brand, '') AS brand,
  price,
  price = 0 AS is_zero_price,
  user_id,
  nullif(user_session, '') AS user_session,
  _source_file,
  _copies
FROM (
  SELECT event_time, event_type, product_id, category_id, category_code, brand, price, user_id, user_session,
         min(_source_file) AS _source_file,
         count(*) AS _copies
  FROM ${bronze_table}
  GROUP BY event_time, event_type, product_id, category_id, category_code, brand, price, user_id, user_session
);
