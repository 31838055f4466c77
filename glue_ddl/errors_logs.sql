-- errors_logs: one row per invalid log line, with the reason. Nothing is dropped silently.
-- dt is the UTC date on which the raw object was uploaded, so a retry on a later day lands in the
-- same partition. 'loglake.retention_days' keeps 90 days of them (by dt); `loglake retention
-- apply` and the scheduled maintenance run remove older partitions (docs/lifecycle.md).
CREATE EXTERNAL TABLE errors_logs (
  raw_line     string    COMMENT 'the line as received (invalid UTF-8 replaced), capped at 64 KiB',
  error_code   string    COMMENT 'stable machine-readable reason, e.g. bad_timestamp',
  error_detail string    COMMENT 'human-readable reason',
  source_uri   string    COMMENT 'the raw object this line came from',
  source_line  bigint    COMMENT '1-based line number in the raw object',
  ingested_at  timestamp COMMENT 'when loglake wrote the row, UTC',
  target_table string    COMMENT 'the table the line was meant for: processed_logs, alb_logs...'
)
PARTITIONED BY (dt string COMMENT 'UTC upload date of the raw object, YYYY-MM-DD')
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${PROCESSED_BUCKET}/symlink/errors/'
TBLPROPERTIES (
  'loglake.files' = 's3://${PROCESSED_BUCKET}/errors/',
  'loglake.retention_days' = '90',
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/symlink/errors/dt=${dt}/'
);
