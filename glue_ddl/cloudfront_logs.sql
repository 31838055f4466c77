-- cloudfront_logs: CloudFront standard access logs, driven by the file's #Fields line; columns of AWS's Athena table (cloudfront_standard_logs).
-- Filled with no configuration from the objects under AWS's key layout (handler/formats/).
-- AWS adds fields: a column declared here that the format does not know is filled from the
-- fields after the known ones, in order (then catalog apply and reprocess --stale-only); fields
-- no column names are kept in new_fields. A '-' in the log is NULL here.
CREATE EXTERNAL TABLE cloudfront_logs (
  `date`                        date,
  `time`                        string,
  location                      string,
  bytes                         bigint,
  request_ip                    string,
  method                        string,
  host                          string,
  uri                           string,
  status                        int,
  referrer                      string,
  user_agent                    string,
  query_string                  string,
  cookie                        string,
  result_type                   string,
  request_id                    string,
  host_header                   string,
  request_protocol              string,
  request_bytes                 bigint,
  time_taken                    float,
  xforwarded_for                string,
  ssl_protocol                  string,
  ssl_cipher                    string,
  response_result_type          string,
  http_version                  string,
  fle_status                    string,
  fle_encrypted_fields          int,
  c_port                        int,
  time_to_first_byte            float,
  x_edge_detailed_result_type   string,
  sc_content_type               string,
  sc_content_len                bigint,
  sc_range_start                bigint,
  sc_range_end                  bigint,
  new_fields                    string    COMMENT 'fields no column names, as name=value: AWS adds fields',
  event_time                    timestamp COMMENT 'when the edge finished the response, from date and time, UTC',
  log_account_id                string    COMMENT 'the account in the object key, AWSLogs/<account>/',
  log_region                    string    COMMENT 'the region in the object key',
  source_uri                    string    COMMENT 'the raw object this row came from',
  source_line                   bigint    COMMENT '1-based line number in the raw object',
  ingested_at                   timestamp COMMENT 'when loglake wrote the row, UTC'
)
PARTITIONED BY (dt string COMMENT 'UTC date of event_time, YYYY-MM-DD')
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${PROCESSED_BUCKET}/symlink/cloudfront_logs/'
TBLPROPERTIES (
  'loglake.files' = 's3://${PROCESSED_BUCKET}/typed/cloudfront_logs/',
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/symlink/cloudfront_logs/dt=${dt}/'
);
