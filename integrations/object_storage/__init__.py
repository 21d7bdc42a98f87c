"""S3-protocol object storage (Aliyun OSS, MinIO, Ceph, moto on loopback): the ObjectStore port with boto3."""
