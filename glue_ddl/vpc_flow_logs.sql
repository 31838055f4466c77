-- vpc_flow_logs: VPC Flow Logs, any version and custom field order (the file's header line says which); columns of AWS's Athena table.
-- Filled with no configuration from the objects under AWS's key layout (handler/formats/).
-- AWS adds fields: a column declared here that the format does not know is filled from the
-- fields after the known ones, in order (then catalog apply and reprocess --stale-only); fields
-- no column names are kept in new_fields. A '-' in the log is NULL here.
CREATE EXTERNAL TABLE vpc_flow_logs (
  version                      int,
  account_id                   string,
  interface_id                 string,
  srcaddr                      string,
  dstaddr                      string,
  srcport                      int,
  dstport                      int,
  protocol                     bigint,
  packets                      bigint,
  bytes                        bigint,
  start                        bigint,
  `end`                        bigint,
  action                       string,
  log_status                   string,
  vpc_id                       string,
  subnet_id                    string,
  instance_id                  string,
  tcp_flags                    int,
  type                         string,
  pkt_srcaddr                  string,
  pkt_dstaddr                  string,
  region                       string,
  az_id                        string,
  sublocation_type             string,
  sublocation_id               string,
  pkt_src_aws_service          string,
  pkt_dst_aws_service          string,
  flow_direction               string,
  traffic_path                 int,
  ecs_cluster_arn              string,
  ecs_cluster_name             string,
  ecs_container_instance_arn   string,
  ecs_container_instance_id    string,
  ecs_container_id             string,
  ecs_second_container_id      string,
  ecs_service_name             string,
  ecs_task_definition_arn      string,
  ecs_task_arn                 string,
  ecs_task_id                  string,
  reject_reason                string,
  new_fields                   string    COMMENT 'fields no column names, as name=value: AWS adds fields',
  event_time                   timestamp COMMENT 'the start of the capture window, from start, UTC',
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
LOCATION 's3://${PROCESSED_BUCKET}/symlink/vpc_flow_logs/'
TBLPROPERTIES (
  'loglake.files' = 's3://${PROCESSED_BUCKET}/typed/vpc_flow_logs/',
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/symlink/vpc_flow_logs/dt=${dt}/'
);
