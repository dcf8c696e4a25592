-- Landed orders, as the files say (Auto Loader style: every new file once)
CREATE OR REFRESH STREAMING TABLE orders_raw (
  CONSTRAINT has_order_id EXPECT (order_id IS NOT NULL) ON VIOLATION DROP ROW
)
COMMENT "Orders as landed; rows without an id are dropped"
TBLPROPERTIES ("quality" = "bronze")
AS SELECT *, _metadata.file_name AS source_file
FROM STREAM read_files('${landing_path}', format => 'csv', header => true);
