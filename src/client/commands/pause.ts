/** `talos-upgrade pause <cluster>`: pause at the next safe point (between steps) (a signal; src/client/commands/control.ts). */
import { sendControl, type ControlOptions } from './control';

export async function pauseCommand(cluster: string, opts: ControlOptions): Promise<number> {
  return sendControl('pause', cluster, opts);
}
