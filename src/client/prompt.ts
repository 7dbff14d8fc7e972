/**
 * The CLI's terminal prompts: a yes/no confirmation (approve, reject, abort) and the cancellable
 * question `rehearse` asks while it watches (src/client/rehearse-answers.ts).
 */
import * as readline from 'node:readline';

/** Asks a yes/no question on the terminal; anything but y/yes is no. */
export async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.on('SIGINT', () => resolve(''));
      rl.question(question, resolve);
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export const onTerminal = (): boolean => process.stdin.isTTY === true && process.stdout.isTTY === true;

/** Asks one question; resolves '' when `cancel` fires first (the wait was answered elsewhere). */
export type Ask = (question: string, cancel: AbortSignal) => Promise<string>;

export function terminalAsk(onInterrupt: () => void): Ask {
  return (question, cancel) =>
    new Promise<string>((resolve) => {
      const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
      let done = false;
      const finish = (answer: string): void => {
        if (done) return;
        done = true;
        cancel.removeEventListener('abort', onCancel);
        rl.close();
        resolve(answer);
      };
      function onCancel(): void {
        process.stdout.write('\n');
        finish('');
      }
      cancel.addEventListener('abort', onCancel, { once: true });
      rl.on('SIGINT', () => {
        process.stdout.write('\n');
        onInterrupt();
        finish('');
      });
      rl.on('close', () => finish(''));
      rl.question(question, finish);
      if (cancel.aborted) onCancel();
    });
}
