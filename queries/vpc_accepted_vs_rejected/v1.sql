-- description: VPC Flow Logs: flows and bytes per time bucket (hour or day), accepted against rejected.
-- param: start date
-- param: end date
-- param: bucket string = hour
SELECT date_trunc(:bucket, event_time) AS bucket_start, action, COUNT(*) AS flows, SUM(bytes) AS bytes
FROM vpc_flow_logs
WHERE dt BETWEEN :start AND :end AND action IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2
