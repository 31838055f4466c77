"""``waf`` and ``route53-resolver``: AWS WAF web ACL logs and Route 53 Resolver query logs,
one JSON record per line, into ``waf_logs`` and ``route53_resolver_logs`` with the columns of
AWS's own Athena tables (Athena User Guide: "Query AWS WAF logs", "Query Amazon Route 53
resolver query logs"). WAF's ``event_time`` is ``timestamp`` (epoch milliseconds), Route 53's
``query_timestamp``.
"""

from __future__ import annotations

from .jsontyped import engine

WAF_EXAMPLE = (
    '{"timestamp":1576280412771,"formatVersion":1,"webaclId":"arn:aws:wafv2:ap-southeast-2:'
    '111122223333:regional/webacl/STMTest/1EXAMPLE","action":"BLOCK",...}'
)
WAF = engine("waf", "timestamp", "epoch_ms")
ROUTE53_EXAMPLE = (
    '{"version":"1.100000","account_id":"111122223333","region":"us-east-1","vpc_id":'
    '"vpc-00000000","query_timestamp":"2021-07-23T03:16:40Z","query_name":"example.com.",...}'
)
ROUTE53 = engine("route53-resolver", "query_timestamp", "iso")
