import { mayGrantHeavySlot, memoryAwareSlotSupplier, type HeavySlotLimits } from '../../src/heavy-slots';

const limits: HeavySlotLimits = { guaranteed: 1, max: 4, budgetMiB: 1024, perActivityMiB: 256 };
const ctx = {
  slotType: 'activity' as const,
  taskQueue: 'q-heavy',
  workerIdentity: 'w',
  workerBuildId: '',
  isSticky: false,
};
const release = { slotInfo: { type: 'activity' as const, activityType: 'buildCampaignManifests' }, permit: {} };

describe('heavy slots by memory', () => {
  test.each([
    // granted, RSS MiB, granted?
    [0, 2000, true], // the guaranteed slot, whatever the memory
    [1, 500, true], // 500 + 256 fits in 1024
    [1, 768, true], // exactly fits
    [1, 769, false], // one more large activity would overrun the budget
    [3, 100, true],
    [4, 100, false], // the most slots
  ])('%i granted at %i MiB → %s', (granted, rss, expected) => {
    expect(mayGrantHeavySlot(granted, rss, limits)).toBe(expected);
  });

  test('a reservation waits while memory is short and is granted when a slot is released', async () => {
    let rss = 900;
    const supplier = memoryAwareSlotSupplier(limits, () => rss);
    const abort = new AbortController();
    await supplier.reserveSlot(ctx, abort.signal);
    let second = false;
    const pending = supplier.reserveSlot(ctx, abort.signal).then(() => (second = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(second).toBe(false);
    expect(supplier.tryReserveSlot(ctx)).toBeNull();
    // The large activity ends: its memory goes and its slot is released.
    rss = 300;
    supplier.releaseSlot(release);
    await pending;
    expect(second).toBe(true);
    expect(supplier.granted()).toBe(1);
    expect(supplier.tryReserveSlot(ctx)).not.toBeNull();
    expect(supplier.granted()).toBe(2);
  });

  test('an aborted reservation rejects with the abort reason and takes no slot', async () => {
    const supplier = memoryAwareSlotSupplier(limits, () => 2000);
    const abort = new AbortController();
    await supplier.reserveSlot(ctx, abort.signal);
    const pending = supplier.reserveSlot(ctx, abort.signal);
    const reason = new Error('poller no longer needed');
    reason.name = 'AbortError';
    abort.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(supplier.granted()).toBe(1);
  });
});
