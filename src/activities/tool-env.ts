/**
 * The environment that points the tools at the cluster, and the secrets that environment gives the
 * tools access to. Only the paths travel (in activity inputs, env vars and history); the files are read
 * here, on the worker, solely to learn what to redact (config-secrets.ts), and their contents never
 * reach history, logs or errors.
 *
 * runTool asks toolSecrets for every call, so any activity that passes toolEnv(...) as `env` gets its
 * tools' output, streamed lines and errors redacted without doing anything else.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { configSecrets } from './config-secrets';

export interface ClusterConfigPaths {
  talosconfig: string;
  kubeconfig: string;
}

export function toolEnv(paths: ClusterConfigPaths): { TALOSCONFIG: string; KUBECONFIG: string } {
  return { TALOSCONFIG: paths.talosconfig, KUBECONFIG: paths.kubeconfig };
}

/**
 * The config files a tool run with `env` (on top of the worker's own environment) reads: TALOSCONFIG,
 * else talosctl's default ~/.talos/config; every entry of KUBECONFIG (a path list, as kubectl, velero
 * and flux read it), else ~/.kube/config.
 */
function configFilesOf(env: Record<string, string | undefined> | undefined): string[] {
  const pick = (name: string): string | undefined => {
    const own = env?.[name];
    return own !== undefined ? own : process.env[name];
  };
  const home = os.homedir();
  const files: string[] = [];
  const talos = pick('TALOSCONFIG');
  files.push(talos ? talos : path.join(home, '.talos', 'config'));
  const kube = pick('KUBECONFIG');
  if (kube) files.push(...kube.split(path.delimiter).filter((p) => p !== ''));
  else files.push(path.join(home, '.kube', 'config'));
  return [...new Set(files)];
}

/** The key material a tool run with `env` could print: what the redactor must remove from its output. */
export function toolSecrets(env: Record<string, string | undefined> | undefined): string[] {
  return configFilesOf(env).flatMap((file) => configSecrets(file));
}
