/**
 * The environment both contenders' tools inherit. NODE_EXTRA_CA_CERTS is dropped: it makes every twin
 * (a Node process standing in for a Go binary, and never opening a connection) parse a CA bundle at
 * start, which doubled twin latency on the machine this was written on and has no counterpart with
 * the real talosctl. Both the worker and the shell loop get the same environment.
 */
export const DROPPED_ENV = ['NODE_EXTRA_CA_CERTS'];

export function benchEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of DROPPED_ENV) delete env[key];
  return env;
}
