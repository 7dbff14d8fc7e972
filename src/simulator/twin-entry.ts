/**
 * The entry esbuild bundles into one file (`npm run build` → dist/src/simulator/twin-bundle.js):
 * the twins run thousands of times per rehearsal, and one file read and compiled from V8's code cache
 * (twin-loader.ts) starts in about half the time of some forty modules resolved and compiled each call.
 */
import { main } from './twin';

void main(process.argv.slice(2));
