/**
 * A test reporter that prints nothing until the run ends, then every failed test by file and name
 * with the first line of its error. CI shows only the tail of a long log: the TAP stream names a
 * failure thousands of lines earlier, this names it at the very end.
 */
interface FailEvent {
  type: string;
  data: { name: string; nesting: number; file?: string; details?: { error?: { message?: string; cause?: unknown } } };
}

function firstLine(error: { message?: string; cause?: unknown } | undefined): string {
  const cause = error?.cause as { message?: string } | undefined;
  const text = cause?.message ?? error?.message ?? '';
  return (
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim()
      .slice(0, 300) ?? ''
  );
}

async function* failuresLast(source: AsyncIterable<FailEvent>): AsyncGenerator<string> {
  const failed: string[] = [];
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { name, file, details } = event.data;
    const why = firstLine(details?.error);
    // A suite or a file fails because a test in it did: those lines only repeat "N subtests failed".
    if (/^\d+ subtests? failed$|^test failed$/.test(why)) continue;
    failed.push(`# FAILED ${file ?? ''} :: ${name}${why ? ` :: ${why}` : ''}`);
  }
  yield failed.length === 0 ? '# every test passed\n' : `# ${failed.length} failed test(s):\n${failed.join('\n')}\n`;
}

// CommonJS build: the test runner imports this module and wants the generator as its default.
export = failuresLast;
