-- description: CloudFront: requests and bytes served per day and edge location.
-- param: start date
-- param: end date
SELECT dt AS day, location, COUNT(*) AS requests, SUM(bytes) AS bytes
FROM cloudfront_logs
WHERE dt BETWEEN :start AND :end
GROUP BY dt, location
ORDER BY day, bytes DESC, location
