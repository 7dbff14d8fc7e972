/**
 * The run's own way to end early at a safe point. Its own module so the phases that throw it
 * (preflight, human waits, gates) need not import the run that catches it (no import cycle).
 */
import type { Outcome } from '../messages';

/** Ends the run at a safe point with an outcome. */
export class StopRun extends Error {
  constructor(
    readonly outcome: Outcome,
    message: string,
  ) {
    super(message);
    this.name = 'StopRun';
  }
}
