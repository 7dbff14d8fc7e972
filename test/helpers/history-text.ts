/**
 * Everything readable in a workflow history: plain strings plus every payload's bytes decoded as
 * UTF-8, so a test can search it for secrets or paths.
 */
export function historyText(history: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const walk = (value: unknown): void => {
    if (value === null || value === undefined) return;
    if (typeof value === 'string') return void parts.push(value);
    if (value instanceof Uint8Array) return void parts.push(Buffer.from(value).toString('utf8'));
    if (typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    for (const child of Array.isArray(value) ? value : Object.values(value as Record<string, unknown>)) walk(child);
  };
  walk(history);
  return parts.join('\n');
}
