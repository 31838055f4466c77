"""``alb``, ``nlb`` and ``elb``: the access logs of Elastic Load Balancing, into ``alb_logs``,
``nlb_logs`` and ``elb_logs`` with the columns of AWS's own Athena tables (Athena User Guide:
"Query Application Load Balancer logs", "Query Network Load Balancer logs", "Query Classic Load
Balancer logs"). Fields and their order: the ELB user guides' "Access log entries".

Example (the ALB guide's HTTPS entry)::

    https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188
    192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57
    "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 ...
    -> type https, client_ip 192.168.131.39, client_port 2817, target_processing_time 0.048,
       elb_status_code 200, request_verb GET, request_url https://www.example.com:443/, ...
"""

from __future__ import annotations

from .spaced import Field, SpacedLayout, one

_HOST = "hostport"
_ALB_EXAMPLE = (
    "https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
    '192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET '
    'https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2'
)

ALB = SpacedLayout(
    "alb",
    (
        one("type"),
        one("time"),
        one("elb"),
        Field(("client_ip", "client_port"), _HOST),
        Field(("target_ip", "target_port"), _HOST),
        one("request_processing_time"),
        one("target_processing_time"),
        one("response_processing_time"),
        one("elb_status_code"),
        one("target_status_code"),
        one("received_bytes"),
        one("sent_bytes"),
        Field(("request_verb", "request_url", "request_proto"), "request"),
        one("user_agent"),
        one("ssl_cipher"),
        one("ssl_protocol"),
        one("target_group_arn"),
        one("trace_id"),
        one("domain_name"),
        one("chosen_cert_arn"),
        one("matched_rule_priority"),
        one("request_creation_time"),
        one("actions_executed"),
        one("redirect_url"),
        one("lambda_error_reason"),
        one("target_port_list"),
        one("target_status_code_list"),
        one("classification"),
        one("classification_reason"),
        one("conn_trace_id"),
        one("transformed_host"),
        one("transformed_uri"),
        one("request_transform_status"),
    ),
    time="time",
    time_format=None,
    example=_ALB_EXAMPLE,
    required=12,
)

NLB = SpacedLayout(
    "nlb",
    (
        one("type"),
        one("version"),
        one("time"),
        one("elb"),
        one("listener_id"),
        Field(("client_ip", "client_port"), _HOST),
        Field(("target_ip", "target_port"), _HOST),
        one("tcp_connection_time_ms"),
        one("tls_handshake_time_ms"),
        one("received_bytes"),
        one("sent_bytes"),
        one("incoming_tls_alert"),
        one("cert_arn"),
        one("certificate_serial"),
        one("tls_cipher_suite"),
        one("tls_protocol_version"),
        one("tls_named_group"),
        one("domain_name"),
        one("alpn_fe_protocol"),
        one("alpn_be_protocol"),
        one("alpn_client_preference_list"),
        one("tls_connection_creation_time"),
    ),
    time="time",
    time_format=None,
    example=(
        "tls 2.0 2018-12-20T02:59:40 net/my-network-loadbalancer/c6e77e28c25b2234 "
        "g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - "
        "arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99 - "
        "ECDHE-RSA-AES128-SHA tlsv12 - my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2"
        ".amazonaws.com - - - -"
    ),
    required=11,
)

ELB = SpacedLayout(
    "elb",
    (
        one("request_timestamp"),
        one("elb_name"),
        Field(("request_ip", "request_port"), _HOST),
        Field(("backend_ip", "backend_port"), _HOST),
        one("request_processing_time"),
        one("backend_processing_time"),
        one("client_response_time"),
        one("elb_response_code"),
        one("backend_response_code"),
        one("received_bytes"),
        one("sent_bytes"),
        Field(("request_verb", "url", "protocol"), "request"),
        one("user_agent", keep_quotes=True),
        one("ssl_cipher"),
        one("ssl_protocol"),
    ),
    time="request_timestamp",
    time_format=None,
    example=(
        "2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 "
        '0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" '
        '"curl/7.38.0" - -'
    ),
    required=12,
)
