/** `talos-upgrade abort <cluster>`: stop at the next safe point, first saying what this run's onFailure policy will and will not undo (a signal; src/client/commands/control.ts). */
import { sendControl, type ControlOptions } from './control';

export async function abortCommand(cluster: string, opts: ControlOptions): Promise<number> {
  return sendControl('abort', cluster, opts);
}
