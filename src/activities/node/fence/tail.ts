/** A bounded tail of a byte stream, redacted when read out (shared by the runner and the worker side). */
import { redact, redactCut } from '../../redact';

export class Tail {
  private chunks: Buffer[] = [];
  private kept = 0;
  private dropped = false;

  constructor(
    private readonly limit: number,
    private readonly secrets: readonly string[],
  ) {}

  push(buf: Buffer): void {
    this.chunks.push(buf);
    this.kept += buf.length;
    const margin = this.secrets[0]?.length ?? 0;
    while (this.chunks.length > 1 && this.kept - (this.chunks[0]?.length ?? 0) >= this.limit + margin) {
      this.kept -= this.chunks.shift()?.length ?? 0;
      this.dropped = true;
    }
  }

  /** The kept text, redacted; a cut at the start may have split a secret, so that edge is cleaned too. */
  text(): string {
    let buf = Buffer.concat(this.chunks);
    let cut = this.dropped;
    if (buf.length > this.limit) {
      buf = buf.subarray(buf.length - this.limit);
      cut = true;
    }
    const text = buf.toString('utf8');
    return cut ? redactCut(text.replace(/^\uFFFD+/, ''), this.secrets, 'start') : redact(text, this.secrets);
  }
}
