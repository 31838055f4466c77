-- description: Data quality: the N source objects with the largest share of invalid lines (valid rows by event date, invalid by upload date, both in the range).
-- param: start date
-- param: end date
-- param: n int >= 1 = 20
WITH valid AS (
  SELECT source_uri, COUNT(*) AS n FROM processed_logs
  WHERE dt BETWEEN :start AND :end GROUP BY source_uri
), invalid AS (
  SELECT source_uri, COUNT(*) AS n FROM errors_logs
  WHERE dt BETWEEN :start AND :end GROUP BY source_uri
), joined AS (
  SELECT
    COALESCE(v.source_uri, i.source_uri) AS source_uri,
    COALESCE(v.n, 0) AS valid,
    COALESCE(i.n, 0) AS invalid
  FROM valid v
  FULL OUTER JOIN invalid i ON v.source_uri = i.source_uri
)
SELECT source_uri, valid, invalid, ROUND(100.0 * invalid / (valid + invalid), 2) AS invalid_pct
FROM joined
ORDER BY invalid_pct DESC, invalid DESC, source_uri
LIMIT :n
