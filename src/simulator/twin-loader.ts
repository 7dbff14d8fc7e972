/**
 * What `<sim dir>/bin/<tool>` runs: the twin bundle beside this file (`twin.js` in `<dir>/.twin`),
 * compiled from V8's code cache (`twin.js.cache`) when one matches. Every twin call is a new process,
 * and compiling the bundle is most of what a call costs beyond Node's own start; the cache is written
 * by the first call that finds none (or finds it rejected: another Node binary, changed V8 flags).
 * Node 20 has no `module.enableCompileCache()`, hence vm.Script's cachedData.
 */
import * as fs from 'node:fs';
import { wrap } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';

const bundle = path.join(__dirname, 'twin.js');
const cacheFile = `${bundle}.cache`;

function readCache(): Buffer | undefined {
  try {
    return fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

const cachedData = readCache();
const script = new vm.Script(wrap(fs.readFileSync(bundle, 'utf8')), { filename: bundle, ...(cachedData ? { cachedData } : {}) });
const run = script.runInThisContext() as (exports: object, req: NodeJS.Require, mod: { exports: object }, filename: string, dirname: string) => void;
const mod = { exports: {} };
run.call(mod.exports, mod.exports, require, mod, bundle, __dirname);

// Written after the bundle's synchronous start, so the functions that start compiled are in it too.
// Concurrent first calls each write their own file and rename it into place: a reader never sees half.
if (cachedData === undefined || script.cachedDataRejected === true) {
  const tmp = `${cacheFile}.${process.pid}`;
  try {
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile);
  } catch {
    // A read-only or vanished directory: the next call compiles without a cache, as this one did.
    fs.rmSync(tmp, { force: true });
  }
}
