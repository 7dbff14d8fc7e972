/** `talos-upgrade resume <cluster>`: continue after a pause, or re-run preflight when blocked (a signal; src/client/commands/control.ts). */
import { sendControl, type ControlOptions } from './control';

export async function resumeCommand(cluster: string, opts: ControlOptions): Promise<number> {
  return sendControl('resume', cluster, opts);
}
