/** Wall clock in ms since the epoch with sub-ms resolution (monotonic between calls). */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
