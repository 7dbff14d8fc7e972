/**
 * How far the wall clock stepped (beyond the monotonic clock) since this was called: workflow time is
 * the server's wall clock, and a VM paused and resumed has it stepped forward, so a test that bounds a
 * workflow-time interval from above discounts the step it measured meanwhile.
 */
export function wallClockStep(): () => number {
  const wall = Date.now();
  const mono = performance.now();
  return () => Math.max(0, Math.round(Date.now() - wall - (performance.now() - mono)));
}
