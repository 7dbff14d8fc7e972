// Everything the worker registers; the bundle is built from this file.
export { clusterUpgrade } from './cluster-upgrade';
export { clusterLock } from './cluster-lock';
export { releaseWatch } from './release-watch';
