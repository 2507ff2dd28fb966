/**
 * Credentials for local endpoints (moto, the local batch engine): both accept any, but the AWS SDK must sign with
 * something, and these keep it from searching the credential chain.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
