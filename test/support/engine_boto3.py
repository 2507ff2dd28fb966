"""Drives the local S3 Batch Operations engine with an unmodified boto3, as test/integration/engine-boto3.test.ts asks.

No hosts-file line: the s3control client sends its requests to the engine as its HTTP proxy (Config.proxies), so the
account-prefixed host name (123456789012.127.0.0.1) is never resolved. Prints one JSON document with what it saw.
Environment: ENGINE_URL, ACCOUNT_ID, MANIFEST_ARN, MANIFEST_ETAG, REPORT_BUCKET.
"""
import json
import os
import sys
import time

import boto3
from botocore.config import Config

engine = os.environ["ENGINE_URL"]
account = os.environ["ACCOUNT_ID"]
control = boto3.client(
    "s3control",
    region_name="us-east-1",
    aws_access_key_id="local",
    aws_secret_access_key="local",
    endpoint_url=engine,
    config=Config(proxies={"http": engine}, retries={"max_attempts": 1}),
)
manifest = {
    "Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
    "Location": {"ObjectArn": os.environ["MANIFEST_ARN"], "ETag": os.environ["MANIFEST_ETAG"]},
}
report = {
    "Enabled": True,
    "Bucket": "arn:aws:s3:::" + os.environ["REPORT_BUCKET"],
    "Format": "Report_CSV_20180820",
    "Prefix": "boto3",
    "ReportScope": "AllTasks",
}


def create(token, operation, confirm=True, priority=10):
    return control.create_job(
        AccountId=account,
        ConfirmationRequired=confirm,
        Operation=operation,
        Report=report,
        ClientRequestToken=token,
        Manifest=manifest,
        Priority=priority,
        RoleArn="arn:aws:iam::%s:role/batch" % account,
        Description="boto3 " + token,
        Tags=[{"Key": "made-by", "Value": "boto3"}],
    )["JobId"]


def wait(job_id, statuses, timeout=60):
    deadline = time.time() + timeout
    while True:
        job = control.describe_job(AccountId=account, JobId=job_id)["Job"]
        if job["Status"] in statuses or time.time() > deadline:
            return job


out = {}
tagging = {"S3PutObjectTagging": {"TagSet": [{"Key": "via", "Value": "boto3"}]}}
ids = [create("boto3-%d" % i, tagging) for i in range(3)]
out["created"] = ids
out["idempotent"] = create("boto3-0", tagging) == ids[0]
suspended = [wait(i, ["Suspended"]) for i in ids]
out["suspended"] = [j["Status"] for j in suspended]
out["describe"] = {
    "Description": suspended[0]["Description"],
    "TotalNumberOfTasks": suspended[0]["ProgressSummary"]["TotalNumberOfTasks"],
    "ConfirmationRequired": suspended[0]["ConfirmationRequired"],
}

pages, token = [], None
while True:
    kwargs = {"AccountId": account, "MaxResults": 2, "JobStatuses": ["Suspended"]}
    if token:
        kwargs["NextToken"] = token
    page = control.list_jobs(**kwargs)
    pages.append([j["JobId"] for j in page.get("Jobs", [])])
    token = page.get("NextToken")
    if not token:
        break
out["pages"] = pages

control.put_job_tagging(AccountId=account, JobId=ids[1], Tags=[{"Key": "team", "Value": "storage"}])
out["tags_after_put"] = control.get_job_tagging(AccountId=account, JobId=ids[1])["Tags"]
control.delete_job_tagging(AccountId=account, JobId=ids[1])
out["tags_after_delete"] = control.get_job_tagging(AccountId=account, JobId=ids[1])["Tags"]

out["priority"] = control.update_job_priority(AccountId=account, JobId=ids[1], Priority=77)["Priority"]
out["priority_described"] = control.describe_job(AccountId=account, JobId=ids[1])["Job"]["Priority"]

out["cancel"] = control.update_job_status(
    AccountId=account, JobId=ids[2], RequestedJobStatus="Cancelled", StatusUpdateReason="not needed"
)["Status"]
approved = control.update_job_status(AccountId=account, JobId=ids[0], RequestedJobStatus="Ready")
out["approve"] = approved["Status"]
done = wait(ids[0], ["Complete", "Failed"])
out["approved_end"] = {"Status": done["Status"], "Succeeded": done["ProgressSummary"]["NumberOfTasksSucceeded"]}

checksum = create("boto3-checksum", {"S3ComputeObjectChecksum": {"ChecksumAlgorithm": "SHA256", "ChecksumType": "FULL_OBJECT"}}, confirm=False)
out["checksum_job"] = checksum
out["checksum_end"] = wait(checksum, ["Complete", "Failed"])["Status"]

try:
    control.get_access_point(AccountId=account, Name="ap1")
    out["access_point"] = "answered"
except control.exceptions.ClientError as err:
    out["access_point"] = {
        "Code": err.response["Error"]["Code"],
        "Status": err.response["ResponseMetadata"]["HTTPStatusCode"],
        "Message": err.response["Error"]["Message"],
    }

json.dump(out, sys.stdout)
