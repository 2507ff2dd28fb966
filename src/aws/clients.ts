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

/**
 * How long an S3 (or SQS) connection may stay silent — no byte sent or received, the answer's body included — before
 * the request fails with a retryable `TimeoutError`. The SDK's default is no limit: a connection that dies without a
 * reset (a NAT or load balancer dropping it) would hold a manifest build or a report analysis until its
 * start-to-close timeout (hours), because those activities heartbeat on a timer while they wait. Five minutes is far
 * above any healthy pause, a slow LIST page or a consumer that holds a body back included, and far below those
 * timeouts; a timed-out attempt resumes from its last checkpoint. S3 Control calls need none: their activities time
 * out after a minute.
 */
export const SOCKET_TIMEOUT_MS = 300_000;
/** How long opening a connection may take. */
export const CONNECTION_TIMEOUT_MS = 30_000;

export interface ClientTimeouts {
  socketTimeoutMs?: number;
  connectionTimeoutMs?: number;
}

function localCredentials() {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : LOCAL_CREDENTIALS;
}

/** @param timeouts for tests; the defaults are the constants above. */
export function createAwsClients(aws: Config['aws'], timeouts: ClientTimeouts = {}): AwsClients {
  const region = aws.region ?? (aws.s3Endpoint || aws.s3ControlEndpoint ? 'us-east-1' : undefined);
  const requestHandler = {
    socketTimeout: timeouts.socketTimeoutMs ?? SOCKET_TIMEOUT_MS,
    connectionTimeout: timeouts.connectionTimeoutMs ?? CONNECTION_TIMEOUT_MS,
  };
  const s3 = new S3Client({
    region,
    ...(aws.s3Endpoint ? { endpoint: aws.s3Endpoint, credentials: localCredentials() } : {}),
    forcePathStyle: aws.forcePathStyle,
    requestHandler,
  });
  const s3control = aws.s3ControlEndpoint
    ? createLocalS3ControlClient({ endpoint: aws.s3ControlEndpoint, region, credentials: localCredentials() })
    : new S3ControlClient({ region });
  // One adaptive limiter per account for the S3 Control calls of this process (a worker builds its clients once):
  // throttling slows every campaign's polls in that account down together instead of failing some of them.
  limitS3ControlCalls(s3control);
  // moto serves SQS on the same port as S3: a local S3 endpoint is the local SQS endpoint too.
  const sqs = new SQSClient({
    region,
    ...(aws.s3Endpoint ? { endpoint: aws.s3Endpoint, credentials: localCredentials() } : {}),
    requestHandler,
  });
  return { s3, s3control, sqs };
}
