"""The local stack: moto's server as S3, SQS and Glue, provisioning, and the queue worker."""
