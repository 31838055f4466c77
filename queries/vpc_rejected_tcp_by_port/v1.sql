-- description: VPC Flow Logs: rejected TCP flows per destination port (AWS's example query), most first.
-- param: start date
-- param: end date
-- param: n int >= 1 = 10
SELECT dstport, COUNT(*) AS flows
FROM vpc_flow_logs
WHERE dt BETWEEN :start AND :end AND protocol = 6 AND action = 'REJECT'
GROUP BY dstport
ORDER BY flows DESC, dstport
LIMIT :n
