/** The pure plan core: everything that decides, with no I/O (DESIGN §1). Safe to import from workflow code. */
export * from './types';
export * from './matrix';
export * from './duration';
export * from './spec';
export * from './versions';
export * from './node-order';
export * from './step-ids';
export * from './preflight';
export { PREFLIGHT_CHECK_IDS } from './preflight-common';
export { peerUrlHost } from './etcd-rules';
export * from './build-plan';
