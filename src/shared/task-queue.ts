/** The task queue the campaign worker polls unless `TEMPORAL_TASK_QUEUE` says otherwise. */
export const DEFAULT_TASK_QUEUE = 's3-campaigns';

/** Appended to a campaign's task queue to name the queue of its heavy activities. */
export const HEAVY_TASK_QUEUE_SUFFIX = '-heavy';

/**
 * The task queue of a campaign's heavy activities (manifest builds, round analysis, reports, restore tracking, large
 * copies): `<taskQueue>-heavy`. Workflows derive it from their own task queue, so a deployment names one queue and
 * gets both; a worker started for heavy work only polls this one.
 */
export function heavyTaskQueue(taskQueue: string): string {
  return `${taskQueue}${HEAVY_TASK_QUEUE_SUFFIX}`;
}
