-- nlb_logs: Network Load Balancer (TLS listener) access logs; columns of AWS's Athena table (nlb_tls_logs).
-- Filled with no configuration from the objects under AWS's key layout (handler/formats/).
-- AWS adds fields: a column declared here that the format does not know is filled from the
-- fields after the known ones, in order (then catalog apply and reprocess --stale-only); fields
-- no column names are kept in new_fields. A '-' in the log is NULL here.
CREATE EXTERNAL TABLE nlb_logs (
  type                         string,
  version                      string,
  time                         string,
  elb                          string,
  listener_id                  string,
  client_ip                    string,
  client_port                  int,
  target_ip                    string,
  target_port                  int,
  tcp_connection_time_ms       double,
  tls_handshake_time_ms        double,
  received_bytes               bigint,
  sent_bytes                   bigint,
  incoming_tls_alert           string,
  cert_arn                     string,
  certificate_serial           string,
  tls_cipher_suite             string,
  tls_protocol_version         string,
  tls_named_group              string,
  domain_name                  string,
  alpn_fe_protocol             string,
  alpn_be_protocol             string,
  alpn_client_preference_list  string,
  tls_connection_creation_time string,
  new_fields                   string    COMMENT 'fields after the known ones, as read: AWS adds fields',
  event_time                   timestamp COMMENT 'when the TLS connection ended, from time, UTC',
  log_account_id               string    COMMENT 'the account in the object key, AWSLogs/<account>/',
  log_region                   string    COMMENT 'the region in the object key',
  source_uri                   string    COMMENT 'the raw object this row came from',
  source_line                  bigint    COMMENT '1-based line number in the raw object',
  ingested_at                  timestamp COMMENT 'when loglake wrote the row, UTC'
)
PARTITIONED BY (dt string COMMENT 'UTC date of event_time, YYYY-MM-DD')
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${PROCESSED_BUCKET}/symlink/nlb_logs/'
TBLPROPERTIES (
  'loglake.files' = 's3://${PROCESSED_BUCKET}/typed/nlb_logs/',
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/symlink/nlb_logs/dt=${dt}/'
);
