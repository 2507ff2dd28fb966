/**
 * Slots for the heavy task queue that follow the process's memory rather than a fixed count. Most heavy activities
 * of small campaigns (a manifest of three keys, the analysis of a job of ten tasks) take little memory and little
 * time; a build of a large inventory or the analysis of a 10M-task job may hold ~256 MiB for hours. A fixed count
 * either queued the small ones behind the large (2 slots) or let large ones together overrun the budget (more slots).
 * Here the first `guaranteed` slots are always there, and each further one only while the process's RSS leaves room
 * for one more large activity within the budget: small work flows through the extra slots, and a large activity that
 * does not fit stays on the server's queue for this worker later, or for another worker.
 */
import type { ActivitySlotInfo, CustomSlotSupplier, SlotPermit } from '@temporalio/worker';

/** What a memory-aware heavy slot supplier allows. */
export interface HeavySlotLimits {
  /** Slots granted whatever the memory (at least 1: one large activity always runs). */
  guaranteed: number;
  /** Slots granted at most. */
  max: number;
  /** The process's memory budget, in MiB (`--memory-budget`). */
  budgetMiB: number;
  /** The room a further slot needs below the budget, in MiB: what one large activity may hold. */
  perActivityMiB: number;
}

/** Whether one more heavy slot may be granted with `granted` out and the process at `rssMiB`. */
export function mayGrantHeavySlot(granted: number, rssMiB: number, limits: HeavySlotLimits): boolean {
  if (granted >= limits.max) return false;
  if (granted < limits.guaranteed) return true;
  return rssMiB + limits.perActivityMiB <= limits.budgetMiB;
}

/** How often a waiting reservation looks at the memory again when no slot was released meanwhile. */
const RECHECK_MS = 1_000;

/** The process's resident memory in MiB. */
const processRssMiB = (): number => process.memoryUsage.rss() / 2 ** 20;

/**
 * A custom activity slot supplier (the SDK's tuner) that grants slots by `mayGrantHeavySlot`. `rssMiB` reads the
 * process's memory (tests pass their own). The supplier counts permits from reservation to release: a slot reserved
 * for a poll counts as taken, as the SDK's fixed-size supplier counts it.
 */
export function memoryAwareSlotSupplier(
  limits: HeavySlotLimits,
  rssMiB: () => number = processRssMiB,
): CustomSlotSupplier<ActivitySlotInfo> & { granted(): number } {
  let granted = 0;
  let wake: Array<() => void> = [];
  const released = () => {
    const waiting = wake;
    wake = [];
    for (const w of waiting) w();
  };
  return {
    type: 'custom',
    granted: () => granted,
    async reserveSlot(_ctx, abortSignal): Promise<SlotPermit> {
      while (!mayGrantHeavySlot(granted, rssMiB(), limits)) {
        if (abortSignal.aborted) throw abortSignal.reason;
        await new Promise<void>((resolve, reject) => {
          const done = () => {
            clearTimeout(timer);
            abortSignal.removeEventListener('abort', aborted);
            resolve();
          };
          const aborted = () => {
            clearTimeout(timer);
            wake = wake.filter((w) => w !== done);
            reject(abortSignal.reason);
          };
          const timer = setTimeout(done, RECHECK_MS);
          wake.push(done);
          abortSignal.addEventListener('abort', aborted, { once: true });
        });
      }
      granted++;
      return {};
    },
    tryReserveSlot(): SlotPermit | null {
      if (!mayGrantHeavySlot(granted, rssMiB(), limits)) return null;
      granted++;
      return {};
    },
    markSlotUsed(): void {},
    releaseSlot(): void {
      granted = Math.max(0, granted - 1);
      released();
    },
  };
}
