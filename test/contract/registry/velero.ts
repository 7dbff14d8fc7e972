/** The velero parsers and twin states the contract cases under test/contract/velero/ can name. */
import { parseBackupCreateOutput, parseBackupGet, parseBackupList, parseVeleroError } from '../../../src/activities/parse/velero';
import { mutateSimState } from '../../../src/simulator';
import type { SimBackup } from '../../../src/simulator/types';
import type { ToolRegistry } from './types';

/** A backup as a case describes it; the twin holds it in that phase (it does not move on). */
interface HeldBackup {
  name: string;
  phase: SimBackup['phase'];
  errors?: number;
  warnings?: number;
  failureReason?: string;
  validationErrors?: string[];
  queuePosition?: number;
}

export const registry: ToolRegistry = {
  parsers: {
    create: (c) => parseBackupCreateOutput(c.stdout),
    get: (c) => parseBackupGet(c.stdout),
    list: (c) => parseBackupList(c.stdout),
    error: (c) => parseVeleroError(c.stderr),
  },
  twinStates: {
    /** Backups that already exist, each frozen in its phase. */
    veleroBackups: (sim, arg) => {
      mutateSimState(sim.dir, (s, now) => {
        for (const b of arg as HeldBackup[]) {
          const done = ['Completed', 'PartiallyFailed', 'Failed', 'Deleting'].includes(b.phase);
          s.velero.backups.push({
            name: b.name,
            phase: b.phase,
            finalPhase: 'Completed',
            held: true,
            errors: b.errors ?? 0,
            warnings: b.warnings ?? 0,
            failureReason: b.failureReason ?? null,
            ...(b.validationErrors ? { validationErrors: b.validationErrors } : {}),
            ...(b.queuePosition ? { queuePosition: b.queuePosition } : {}),
            includedNamespaces: ['*'],
            excludedNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'],
            defaultVolumesToFsBackup: true,
            createdAt: new Date(now - 120_000).toISOString(),
            startedAt: new Date(now - 119_000).toISOString(),
            completeAt: now - 30_000,
            completedAt: done ? new Date(now - 30_000).toISOString() : null,
            totalItems: 412,
          });
        }
      });
    },
    /** How the next `backup create` ends (instead of Completed). */
    nextBackup: (sim, arg) => {
      mutateSimState(sim.dir, (s) => {
        s.velero.nextBackup = arg as NonNullable<typeof s.velero.nextBackup>;
      });
    },
  },
};
