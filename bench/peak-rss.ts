/** Peak memory of a benchmark's child process. */
import { readFileSync } from 'node:fs';

/**
 * This process's peak RSS. `/proc/self/status` VmHWM belongs to the process's own address space; getrusage's maxRSS
 * would also count the parent's memory at fork time (DuckDB's, here), which Linux carries across exec.
 */
export function peakRssMB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf-8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
