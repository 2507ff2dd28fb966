/**
 * Bucket listing → manifests, for campaigns whose source is a bucket rather than an S3 Inventory report: a parallel,
 * resumable lister (`listBucket`) and the build that streams its pages into the inventory path's manifests
 * (`buildManifestsFromListing`).
 */
export {
  buildManifestsFromListing,
  countListing,
  ListingProgressSchema,
  type ListingCount,
  type ListingBuildDeps,
  type ListingBuildInput,
  type ListingProgress,
  type ListingSummary,
} from './build';
export { compareKeys, KeyAlphabet, splitPoints, type KeyRange } from './keyspace';
export {
  DEFAULT_LIST_CONCURRENCY,
  listBucket,
  listConcurrencyFromEnv,
  type ListBucketOptions,
  type ListedEntry,
  type ListedPage,
  type ListRange,
} from './lister';
