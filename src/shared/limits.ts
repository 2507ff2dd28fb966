/**
 * Limits shared by the workflow and the activities. Plain constants, no imports: workflow code may use them.
 */

/**
 * Jobs in one round at most. Each job is polled, approved and reported on its own, so more than this points at a
 * `maxObjectsPerJob` far too small for the source, not at a campaign that needs it.
 */
export const MAX_JOBS_PER_ROUND = 100;
