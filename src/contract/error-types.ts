/**
 * Failure types shared by activities (which throw them) and the workflow (whose retry policies name them).
 * Lives in src/contract/ because the workflow may import values only from sandbox-safe modules.
 */
export const ErrorTypes = {
  bootFallback: 'BootFallback',
  nodeTimeout: 'NodeUpgradeTimeout',
  upgradeRefused: 'UpgradeRefused',
  schematicMismatch: 'SchematicMismatch',
  etcdUnhealthy: 'EtcdUnhealthy',
  toolMissing: 'ToolMissing',
  toolFailed: 'ToolFailed',
  malformedOutput: 'MalformedOutput',
  backupFailed: 'BackupFailed',
  kubernetesUpgradeFailed: 'KubernetesUpgradeFailed',
  verificationFailed: 'VerificationFailed',
  rollbackFailed: 'RollbackFailed',
  badInput: 'BadInput',
  noUpgradePath: 'NoUpgradePath',
  /** The product's drain did not finish within its timeout; details: DrainStall (node/types.ts). */
  drainStalled: 'DrainStalled',
  /** The node is unschedulable and not by this run: its cordon is not the product's to take over. */
  nodeCordonedElsewhere: 'NodeCordonedElsewhere',
} as const;

/** Failures no retry can fix: the workflow goes straight to a decision. */
export const NON_RETRYABLE: string[] = [
  ErrorTypes.bootFallback,
  ErrorTypes.nodeTimeout,
  ErrorTypes.upgradeRefused,
  ErrorTypes.schematicMismatch,
  ErrorTypes.toolMissing,
  ErrorTypes.backupFailed,
  ErrorTypes.badInput,
  ErrorTypes.noUpgradePath,
  ErrorTypes.drainStalled,
  ErrorTypes.nodeCordonedElsewhere,
];
