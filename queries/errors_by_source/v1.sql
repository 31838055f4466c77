-- description: Pipeline data quality: invalid lines per error code and source object, for upload dates in a range.
-- param: start date
-- param: end date
SELECT error_code, source_uri, COUNT(*) AS lines, MIN(source_line) AS first_line
FROM errors_logs
WHERE dt BETWEEN :start AND :end
GROUP BY error_code, source_uri
ORDER BY lines DESC, error_code, source_uri
