/** Waiting on what a child process prints. */
import * as readline from 'node:readline';
import type execa from 'execa';

/** Resolves with the first stdout line matching `re`; rejects when the process ends first or time runs out. */
export function lineMatching(child: execa.ExecaChildProcess, re: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      rl.close();
      reject(new Error(`no line matching ${re} within ${timeoutMs} ms`));
    }, timeoutMs);
    rl.on('line', (line) => {
      if (!re.test(line)) return;
      clearTimeout(timer);
      rl.close();
      resolve(line);
    });
    void child.then((r) => {
      clearTimeout(timer);
      reject(new Error(`the process ended (exit ${r.exitCode}) before printing ${re}: ${r.stderr}`));
    });
  });
}
