-- description: Valid and invalid rows per source object side by side (valid rows by event date, invalid by upload date, both in the range).
-- param: start date
-- param: end date
WITH valid AS (
  SELECT source_uri, COUNT(*) AS n FROM processed_logs
  WHERE dt BETWEEN :start AND :end GROUP BY source_uri
), invalid AS (
  SELECT source_uri, COUNT(*) AS n FROM errors_logs
  WHERE dt BETWEEN :start AND :end GROUP BY source_uri
)
SELECT
  COALESCE(v.source_uri, i.source_uri) AS source_uri,
  COALESCE(v.n, 0) AS valid,
  COALESCE(i.n, 0) AS invalid
FROM valid v
FULL OUTER JOIN invalid i ON v.source_uri = i.source_uri
ORDER BY source_uri
