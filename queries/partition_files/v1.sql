-- description: Lake health: Parquet files, bytes and small files (under small_mb MB; `loglake compact` merges them) per table and partition, for a date range.
-- param: start date
-- param: end date
-- param: small_mb int >= 1 = 64
WITH files AS (
  SELECT DISTINCT 'processed_logs' AS table_name, dt, "$path" AS path, "$file_size" AS bytes
  FROM processed_logs
  WHERE dt BETWEEN :start AND :end
  UNION ALL
  SELECT DISTINCT 'errors_logs' AS table_name, dt, "$path" AS path, "$file_size" AS bytes
  FROM errors_logs
  WHERE dt BETWEEN :start AND :end
)
SELECT
  table_name,
  dt,
  COUNT(*) AS files,
  SUM(bytes) AS bytes,
  SUM(CASE WHEN bytes < :small_mb * 1000000 THEN 1 ELSE 0 END) AS small_files
FROM files
GROUP BY table_name, dt
ORDER BY table_name, dt
