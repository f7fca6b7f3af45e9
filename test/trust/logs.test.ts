/**
 * Bounded logs: size rotation with a kept count (README Configuration `logs:`; main/core/log-rotation.ts) that
 * keeps every byte whole in the rotated files, and a thread.log that fails to write warns once, retries with
 * every record and says where the hole is once it can write again — through the real worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, statSync } from 'node:fs';
import nodeLog from 'electron-log/node';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { RetryingLogFile, RotatingFile, rotatedPath, type LogFileProblem } from '../../main/core/log-rotation';
import { ThreadLog } from '../../main/core/agents/thread-log';
import { createLogger, fileSink, type LogRecord } from '../../main/core/log';
import { parseConfigText, DEFAULT_LOGS } from '../../main/core/state/config';
import { isWorkerError } from '../../main/core/errors';
import { tempDir } from '../support/process';
import { lineFileSink } from '../../main/cli/tui/log-file';
import { configureDesktopLog, desktopLogRotation } from '../../main/desktop/log-sink';
import { agentTexts, makeRig, waitFor } from '../harness/support';

const SECTION = `sections:
  - job_type: session_agent_harness
    session: { org_id: o, blob_id: b, revision_id: r, session_id: s }
`;

test('logs: documented defaults and validation', () => {
  assert.deepEqual(parseConfigText(SECTION).config.logs, { max_bytes: 10 * 1024 * 1024, keep: 5 });
  assert.deepEqual(parseConfigText(SECTION).config.logs, DEFAULT_LOGS);
  assert.deepEqual(parseConfigText('logs: {max_bytes: 8192}\n' + SECTION).config.logs, { max_bytes: 8192, keep: 5 });
  for (const bad of ['logs: {max_bytes: 100}', 'logs: {keep: 0}', 'logs: {keep: 1.5}', 'logs: {max_bytes: "1M"}']) {
    assert.throws(
      () => parseConfigText(bad + '\n' + SECTION),
      (e: unknown) => isWorkerError(e, 'INVALID_CONFIG'),
      bad,
    );
  }
});

test('RotatingFile: rotates before a write would pass max_bytes, keeps `keep` files, never splits a record', async (t) => {
  const tmp = await tempDir('bhw-rotate-');
  t.after(tmp.cleanup);
  const path = join(tmp.path, 'logs', 'x.log');
  const file = new RotatingFile(path, { maxBytes: 4096, keep: 3 });
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) {
    const line = `${JSON.stringify({ i, pad: 'p'.repeat(i % 97) })}\n`;
    lines.push(line);
    file.append(line);
  }
  const big = `${JSON.stringify({ big: 'b'.repeat(9000) })}\n`;
  file.append(big);
  lines.push(big);
  file.append('{"after":1}\n');
  lines.push('{"after":1}\n');
  file.close();
  const files = [rotatedPath(path, 3), rotatedPath(path, 2), rotatedPath(path, 1), path];
  for (const f of files) assert.ok(existsSync(f), f);
  assert.ok(!existsSync(rotatedPath(path, 4)), 'no more than keep rotated files');
  const kept = files.map((f) => readFileSync(f, 'utf8'));
  for (const [i, text] of kept.entries()) {
    assert.ok(text.endsWith('\n'), 'whole records only');
    if (!text.includes('"big"')) assert.ok(Buffer.byteLength(text) <= 4096, `${files[i]} within max_bytes`);
  }
  // The kept files, oldest first, are exactly the newest records written: nothing cut, nothing reordered.
  const joined = kept.join('');
  assert.ok(lines.join('').endsWith(joined), 'a suffix of everything written');
  assert.equal(readFileSync(rotatedPath(path, 1), 'utf8'), big, 'a record above max_bytes is written whole, alone');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  // A new writer continues the file's size (a restart does not reset the count).
  const again = new RotatingFile(path, { maxBytes: 20, keep: 3 });
  again.append('{"x":"0123456789012345"}\n');
  again.close();
  assert.equal(readFileSync(rotatedPath(path, 1), 'utf8'), '{"after":1}\n');
});

test('ThreadLog: a failing path warns once, retries with every record, and marks the gap once it heals', async (t) => {
  const tmp = await tempDir('bhw-threadlog-');
  t.after(tmp.cleanup);
  const path = join(tmp.path, 'logs', 'thread.log');
  mkdirSync(path, { recursive: true }); // a directory where the file should be: every open fails (EISDIR)
  const problems: LogFileProblem[] = [];
  const log = new ThreadLog(path, { onProblem: (p) => problems.push(p) });
  for (let i = 0; i < 5; i++) log.append({ src: 'agent', dir: 'stdout', line: `lost ${i}` });
  assert.equal(problems.length, 1, 'warned once');
  assert.equal(problems[0].event, 'log_write_failed');
  assert.equal(problems[0].errno, 'EISDIR');
  assert.ok(log.isFailing);
  rmdirSync(path); // fixed
  log.append({ src: 'agent', dir: 'stdout', line: 'back' });
  log.append({ src: 'agent', dir: 'stdout', line: 'more' });
  log.close();
  assert.deepEqual(
    problems.map((p) => [p.event, p.lost]),
    [
      ['log_write_failed', undefined],
      ['log_write_recovered', 5],
    ],
  );
  const records = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    records.map((r) => r.event ?? r.line),
    ['thread_log_gap', 'back', 'more'],
  );
  assert.equal(records[0].lost, 5);
  // Failing again after healing warns again (once).
  const file = new RetryingLogFile(join(tmp.path, 'nope', 'x'), undefined, (p) => problems.push(p));
  mkdirSync(join(tmp.path, 'nope', 'x'), { recursive: true });
  file.append('a\n');
  file.append('b\n');
  assert.equal(problems.filter((p) => p.event === 'log_write_failed').length, 2);
});

test('through the worker: thread.log rotates at logs.max_bytes, and a blocked thread.log warns once and heals', async (t) => {
  const rig = await makeRig(t);
  const config = YAML.parse(await readFile(rig.paths.config, 'utf8')) as Record<string, unknown>;
  config.logs = { max_bytes: 4096, keep: 2 };
  await writeFile(rig.paths.config, YAML.stringify(config));
  const job = rig.paths.job(rig.ref.session_id);
  // A directory where thread.log belongs: the thread runs anyway, with one warning.
  mkdirSync(job.threadLog('job'), { recursive: true });
  const records: LogRecord[] = [];
  const logger = createLogger({ sinks: [(r) => records.push(r)] });
  rig.chat('job');
  rig.say('job', 'hi');
  rig.handoff('job');
  const host = rig.host({ logger });
  await host.start();
  await waitFor(() => agentTexts(rig, 'job').length > 0, 'the agent answered without its thread.log');
  const warned = () => records.filter((r) => r.event === 'thread_log_write_failed');
  await waitFor(() => warned().length > 0, 'the write failure logged');
  assert.equal(warned()[0].code, 'STATE_IO_ERROR');
  assert.equal(warned()[0].thread, 'job');

  rmdirSync(job.threadLog('job'));
  for (let i = 0; i < 12; i++) {
    rig.say('job', `message ${i} ${'x'.repeat(600)}`);
    await waitFor(() => agentTexts(rig, 'job').length > i + 1, `answer ${i}`, { timeoutMs: 15_000 });
  }
  await waitFor(() => records.some((r) => r.event === 'thread_log_recovered'), 'recovery logged');
  assert.equal(warned().length, 1, 'warned once, not per record');
  assert.ok(existsSync(rotatedPath(job.threadLog('job'), 1)), 'rotated');
  assert.ok(!existsSync(rotatedPath(job.threadLog('job'), 3)), 'no more than keep');
  const all = [rotatedPath(job.threadLog('job'), 2), rotatedPath(job.threadLog('job'), 1), job.threadLog('job')]
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('');
  const lines = all.trim().split('\n');
  for (const l of lines) JSON.parse(l); // whole records
  assert.ok(all.includes('message 11'), 'the newest agent stdio is there');
  await host.stop();
});

test('the worker logs rotate too: start --tui worker.jsonl and the desktop app log (electron-log archiveLogFn)', async (t) => {
  const tmp = await tempDir('bhw-worker-logs-');
  t.after(tmp.cleanup);
  const path = join(tmp.path, 'logs', 'ins_1', 'worker.jsonl');
  const problems: LogFileProblem[] = [];
  const file = lineFileSink(path, { maxBytes: 4096, keep: 2 }, (p) => problems.push(p));
  for (let i = 0; i < 200; i++) file.sink({ ts: 'x', level: 'info', event: 'e', msg: `record ${i} ${'y'.repeat(50)}` });
  assert.ok(existsSync(rotatedPath(path, 2)) && !existsSync(rotatedPath(path, 3)), 'worker.jsonl rotated, 2 kept');
  // A blocked file is retried, not switched off (the old sink closed itself for good after one failure).
  file.close();
  rmSync(path);
  mkdirSync(path);
  file.sink({ ts: 'x', level: 'info', event: 'lost', msg: 'lost' });
  rmdirSync(path);
  file.sink({ ts: 'x', level: 'info', event: 'back', msg: 'back' });
  file.close();
  assert.deepEqual(
    problems.map((p) => p.event),
    ['log_write_failed', 'log_write_recovered'],
  );
  assert.deepEqual(
    readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event: string }).event),
    ['log_gap', 'back'],
  );

  const stateRoot = join(tmp.path, 'home');
  const log = nodeLog.create({ logId: `trust-desktop-log-${process.pid}` });
  const desktop = configureDesktopLog(log, stateRoot, { rotation: { maxBytes: 4096, keep: 2 } });
  for (let i = 0; i < 300; i++) log.info(`line ${i} ${'z'.repeat(60)}`);
  assert.ok(existsSync(rotatedPath(desktop, 1)) && existsSync(rotatedPath(desktop, 2)), 'desktop.log rotated');
  assert.ok(!existsSync(rotatedPath(desktop, 3)), 'no more than keep');
  assert.ok(!existsSync(desktop.replace(/\.log$/, '.old.log')), "not electron-log's single .old.log");
  assert.match(readFileSync(desktop, 'utf8') + readFileSync(rotatedPath(desktop, 1), 'utf8'), /line 299 /);
  // The rotation comes from config.yaml's logs block (the defaults when the config is missing or invalid).
  assert.deepEqual(desktopLogRotation(join(tmp.path, 'nowhere')), { maxBytes: 10 * 1024 * 1024, keep: 5 });
  await writeFile(join(stateRoot, 'config.yaml'), 'logs: {max_bytes: 8192, keep: 3}\n' + SECTION);
  assert.deepEqual(desktopLogRotation(stateRoot), { maxBytes: 8192, keep: 3 });
});

test('section.log (fileSink): rotates, closes its descriptor, and a failing file is retried, not dropped', async (t) => {
  const tmp = await tempDir('bhw-section-log-');
  t.after(tmp.cleanup);
  const path = join(tmp.path, 'logs', 'section.log');
  const problems: LogFileProblem[] = [];
  const sink = fileSink(path, { maxBytes: 4096, keep: 2 }, (p) => problems.push(p));
  const logger = createLogger({ sinks: [sink] });
  for (let i = 0; i < 300; i++) logger.info('tick', `record ${i} ${'s'.repeat(40)}`);
  assert.ok(existsSync(rotatedPath(path, 2)) && !existsSync(rotatedPath(path, 3)), 'rotated, 2 kept');
  await sink.close();
  rmSync(path);
  mkdirSync(path);
  logger.info('lost', 'lost');
  logger.info('lost', 'lost');
  rmdirSync(path);
  logger.info('back', 'back');
  await sink.close();
  assert.deepEqual(
    problems.map((p) => [p.event, p.lost]),
    [
      ['log_write_failed', undefined],
      ['log_write_recovered', 2],
    ],
  );
  assert.deepEqual(
    readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event: string }).event),
    ['log_gap', 'back'],
  );
});
