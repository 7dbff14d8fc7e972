// Everything the worker registers; the bundle is built from this file.
export { selfTest } from './self-test';
