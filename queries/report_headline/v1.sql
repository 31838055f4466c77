-- description: Headline numbers for a date range: valid rows, invalid lines and their share, source objects, days with valid rows.
-- param: start date
-- param: end date
WITH valid AS (
  SELECT COUNT(*) AS valid_rows, COUNT(DISTINCT dt) AS days
  FROM processed_logs
  WHERE dt BETWEEN :start AND :end
), invalid AS (
  SELECT COUNT(*) AS invalid_lines
  FROM errors_logs
  WHERE dt BETWEEN :start AND :end
), sources AS (
  SELECT COUNT(DISTINCT source_uri) AS sources
  FROM (
    SELECT source_uri FROM processed_logs WHERE dt BETWEEN :start AND :end
    UNION
    SELECT source_uri FROM errors_logs WHERE dt BETWEEN :start AND :end
  ) AS seen
)
SELECT
  valid_rows,
  invalid_lines,
  ROUND(100.0 * invalid_lines / NULLIF(valid_rows + invalid_lines, 0), 2) AS invalid_pct,
  sources,
  days
FROM valid CROSS JOIN invalid CROSS JOIN sources
