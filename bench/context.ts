/** What every benchmark gets from run.ts: the server, a scratch directory, the mode and the tuning. */
import type { Client } from '@temporalio/client';
import type { Tuning } from './upgrade-run';

export interface BenchContext {
  client: Client;
  /** host:port of the Temporal server, for worker processes. */
  address: string;
  /** Scratch space for simulated clusters; removed at the end. */
  dir: string;
  /** This run's copy of the workflow bundle: every worker of the run loads the same code. */
  workflowBundle: string;
  quick: boolean;
  /** The tuning talos-upgrade runs with in this benchmark (poll interval, heartbeat timeout). */
  tuning: Required<Tuning>;
  log(line: string): void;
}

/** A task queue of its own per benchmark, so a worker never sees another benchmark's tasks. */
export const queueFor = (name: string): string => `bench-${name}-${process.pid}-${Date.now()}`;
