/**
 * Parsers for talosctl output. The read commands live in their own modules, each traced to
 * talosctl's source (test/contract/talosctl/ holds the bytes and the evidence):
 * talosctl-errors (stderr forms of failed nodes), talosctl-version, talosctl-get, talosctl-etcd,
 * talosctl-health; the upgrade commands' output is read in talosctl-upgrade.
 */
export * from './talosctl-errors';
export * from './talosctl-version';
export * from './talosctl-get';
export * from './talosctl-etcd';
export * from './talosctl-health';
