/**
 * The environment that points the tools at the cluster. Only the paths travel: the files hold
 * credentials, so they are never read here and their contents never reach history, logs or errors.
 */

export interface ClusterConfigPaths {
  talosconfig: string;
  kubeconfig: string;
}

export function toolEnv(paths: ClusterConfigPaths): { TALOSCONFIG: string; KUBECONFIG: string } {
  return { TALOSCONFIG: paths.talosconfig, KUBECONFIG: paths.kubeconfig };
}
