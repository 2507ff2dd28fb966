/** S3 enumerations shared by the campaign spec and the local engine's codec (one list each). Workflow-safe. */

/** Canned ACLs S3 and Batch Operations accept. */
export const CANNED_ACLS = [
  'private',
  'public-read',
  'public-read-write',
  'aws-exec-read',
  'authenticated-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
] as const;
export type CannedAclName = (typeof CANNED_ACLS)[number];
