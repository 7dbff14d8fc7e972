/** `talos-upgrade rehearse [spec]`: the whole upgrade against a simulated copy of the cluster (src/client/rehearse.ts). */
import { runRehearsal, type RehearseOptions } from '../rehearse';

/** Exit 0 only when the upgrade completed. */
export async function rehearseCommand(specPath: string | undefined, opts: RehearseOptions & { debug: boolean }): Promise<number> {
  const { debug, ...rest } = opts;
  return runRehearsal(specPath, rest, debug);
}
