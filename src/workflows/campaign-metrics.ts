/**
 * Campaign metrics from workflow code, through the SDK's workflow metric meter: it drops points while a history
 * replays, so each fact is counted once, by the worker that first ran it. The points come from the state's changes
 * (src/observability/campaign-deltas.ts); nothing here is a command, so it changes no history.
 */
import type { MetricCounter, MetricHistogram } from '@temporalio/common';
import { metricMeter } from '@temporalio/workflow';

import { CampaignObserver } from '../observability/campaign-deltas';
import { CAMPAIGN_METRICS } from '../observability/metric-names';
import type { CampaignState } from '../shared/campaign';

/** Returns the function the workflow calls with its state each time it publishes it. */
export function campaignMetrics(operation: string, fresh: boolean): (st: CampaignState) => void {
  const observer = new CampaignObserver(operation, fresh);
  const instruments = new Map<string, MetricCounter | MetricHistogram>();
  const instrument = (metric: keyof typeof CAMPAIGN_METRICS) => {
    let i = instruments.get(metric);
    if (!i) {
      const def = CAMPAIGN_METRICS[metric];
      i =
        def.kind === 'counter'
          ? metricMeter.createCounter(def.name, undefined, def.help)
          : metricMeter.createHistogram(def.name, 'float', def.unit, def.help);
      instruments.set(metric, i);
    }
    return i;
  };
  return (st) => {
    for (const p of observer.observe(st, Date.now())) {
      const i = instrument(p.metric);
      if (i.kind === 'counter') i.add(p.value, p.labels);
      else i.record(p.value, p.labels);
    }
  };
}
