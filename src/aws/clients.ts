/**
 * Builds the AWS clients the worker and the CLI use, from the validated config. Real AWS by default (region and
 * credentials from the SDK's standard chain); local endpoints (moto, the local batch engine) when configured.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { SQSClient } from '@aws-sdk/client-sqs';

import type { Config } from '../config';
import { LOCAL_CREDENTIALS } from './local-credentials';
import { createLocalS3ControlClient } from '../local-batch/client';
import { limitS3ControlCalls } from './throttling';

export interface AwsClients {
  s3: S3Client;
  s3control: S3ControlClient;
  /** Restore events (restore tracking). Optional so that callers that build their own clients need not add one. */
  sqs?: SQSClient;
}

function localCredentials() {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : LOCAL_CREDENTIALS;
}

export function createAwsClients(aws: Config['aws']): AwsClients {
  const region = aws.region ?? (aws.s3Endpoint || aws.s3ControlEndpoint ? 'us-east-1' : undefined);
  const s3 = new S3Client({
    region,
    ...(aws.s3Endpoint ? { endpoint: aws.s3Endpoint, credentials: localCredentials() } : {}),
    forcePathStyle: aws.forcePathStyle,
  });
  const s3control = aws.s3ControlEndpoint
    ? createLocalS3ControlClient({ endpoint: aws.s3ControlEndpoint, region, credentials: localCredentials() })
    : new S3ControlClient({ region });
  // One adaptive limiter for all S3 Control calls of this process (a worker builds its clients once): throttling
  // slows every campaign's polls down together instead of failing some of them.
  limitS3ControlCalls(s3control);
  // moto serves SQS on the same port as S3: a local S3 endpoint is the local SQS endpoint too.
  const sqs = new SQSClient({
    region,
    ...(aws.s3Endpoint ? { endpoint: aws.s3Endpoint, credentials: localCredentials() } : {}),
  });
  return { s3, s3control, sqs };
}
