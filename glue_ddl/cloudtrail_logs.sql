-- cloudtrail_logs: CloudTrail log files, one row per record of each file's Records array; columns of AWS's Athena table (cloudtrail_logs).
-- Filled with no configuration from the objects under AWS's key layout (handler/formats/).
-- AWS adds fields: a column declared here that the format does not know is filled from the
-- fields after the known ones, in order (then catalog apply and reprocess --stale-only); fields
-- no column names are kept in new_fields. A '-' in the log is NULL here.
CREATE EXTERNAL TABLE cloudtrail_logs (
  eventversion                   string,
  useridentity                   struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,username:string,onbehalfof:struct<userid:string,identitystorearn:string>,sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,ec2roledelivery:string,webidfederationdata:struct<federatedprovider:string,attributes:map<string,string>>,sourceidentity:string>,credentialid:string>,
  eventtime                      string,
  eventsource                    string,
  eventname                      string,
  awsregion                      string,
  sourceipaddress                string,
  useragent                      string,
  errorcode                      string,
  errormessage                   string,
  requestparameters              string,
  responseelements               string,
  additionaleventdata            string,
  requestid                      string,
  eventid                        string,
  readonly                       string,
  resources                      array<struct<arn:string,accountid:string,type:string>>,
  eventtype                      string,
  apiversion                     string,
  recipientaccountid             string,
  serviceeventdetails            string,
  sharedeventid                  string,
  vpcendpointid                  string,
  vpcendpointaccountid           string,
  eventcategory                  string,
  addendum                       struct<reason:string,updatedfields:string,originalrequestid:string,originaleventid:string>,
  sessioncredentialfromconsole   string,
  edgedevicedetails              string,
  tlsdetails                     struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>,
  new_fields                     string    COMMENT 'fields no column names, as one JSON object: AWS adds fields',
  event_time                     timestamp COMMENT 'when the call was made, from eventtime, UTC',
  log_account_id                 string    COMMENT 'the account in the object key, AWSLogs/<account>/',
  log_region                     string    COMMENT 'the region in the object key',
  source_uri                     string    COMMENT 'the raw object this row came from',
  source_line                    bigint    COMMENT '1-based line number in the raw object',
  ingested_at                    timestamp COMMENT 'when loglake wrote the row, UTC'
)
PARTITIONED BY (dt string COMMENT 'UTC date of event_time, YYYY-MM-DD')
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
  OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://${PROCESSED_BUCKET}/symlink/cloudtrail_logs/'
TBLPROPERTIES (
  'loglake.files' = 's3://${PROCESSED_BUCKET}/typed/cloudtrail_logs/',
  'classification' = 'parquet',
  'parquet.compression' = 'ZSTD',
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2000-01-01,NOW+1DAYS',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://${PROCESSED_BUCKET}/symlink/cloudtrail_logs/dt=${dt}/'
);
