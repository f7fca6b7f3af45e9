/**
 * Measures what `Outbox.enqueue` costs: budget check + journal append + fdatasync, per emission.
 * Run: node --import tsx test/outbound/measure-fsync.ts [folder]   (default: the OS temp folder)
 * The API never answers here, so only the local cost is timed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobHubApi, CallOptions } from '../../main/core/api/types';
import { silentLogger } from '../../main/core/log';
import { Outbox } from '../../main/core/harness/outbound/outbox';
import { textItem, toolResultItem } from '../../main/core/harness/outbound/items';

const never = (options?: CallOptions): Promise<never> =>
  new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(new Error('aborted'))));
const api = {
  postThreadItem: (_r: unknown, _a: unknown, _i: unknown, o?: CallOptions) => never(o),
} as unknown as BlobHubApi;

const dir = mkdtempSync(join(process.argv[2] ?? tmpdir(), 'bhw-fsync-'));
const outbox = await Outbox.open({
  api,
  ref: { revision_id: 'r', session_id: 's' },
  alias: 't',
  journalPath: join(dir, 'outbox.jsonl'),
  logger: silentLogger,
  onFatal: () => undefined,
});

function time(label: string, n: number, make: () => Parameters<Outbox['enqueue']>[0]): void {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const item = make();
    const t = process.hrtime.bigint();
    outbox.enqueue(item);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  const p = (q: number): string => samples[Math.min(n - 1, Math.floor(q * n))].toFixed(3);
  console.log(`${label}: n=${n} mean=${mean.toFixed(3)} ms p50=${p(0.5)} ms p99=${p(0.99)} ms max=${p(1)} ms`);
}

time('small text item (~150 B)', 500, () => textItem('a short agent message'));
time('1 MB tool output (fitted to 350 KiB)', 20, () => toolResultItem('tu', 'x'.repeat(1_000_000), false));
await outbox.close({ graceMs: 0 });
rmSync(dir, { recursive: true, force: true });
