/**
 * The launchd job of `service install` on macOS (docs/cli.md → `service`): a LaunchAgent in
 * `~/Library/LaunchAgents` (the user's own session) by default, a LaunchDaemon in `/Library/LaunchDaemons`
 * only for `--allow-root`. Rendered as an XML property list; `parsePlist` reads that subset back (tests, and
 * `service status` on an existing file) and `LaunchdPlist` is the schema of the keys written (launchd.plist(5)).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { LAUNCHD_LABEL, serviceArgv, type ServiceScope, type ServiceSpec } from './spec';

export function plistPath(scope: ServiceScope, home: string): string {
  return scope === 'system'
    ? join('/Library/LaunchDaemons', `${LAUNCHD_LABEL}.plist`)
    : join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
}

/** launchd has no journal: stdout/stderr go to a file Console.app shows (`~/Library/Logs`). */
export function plistLogPath(scope: ServiceScope, home: string): string {
  return scope === 'system' ? '/Library/Logs/blobhub-worker.log' : join(home, 'Library', 'Logs', 'blobhub-worker.log');
}

/** The keys this project writes, with launchd.plist(5)'s types; nothing else is accepted back. */
export const LaunchdPlist = z.strictObject({
  Label: z.literal(LAUNCHD_LABEL),
  ProgramArguments: z.array(z.string().min(1)).min(1),
  WorkingDirectory: z.string().startsWith('/'),
  EnvironmentVariables: z.record(z.string().min(1), z.string()).optional(),
  RunAtLoad: z.boolean(),
  // Restart when the job exits with a failure; a clean stop (status 0) stays stopped.
  KeepAlive: z.strictObject({ SuccessfulExit: z.boolean() }),
  ThrottleInterval: z.number().int().positive(),
  ExitTimeOut: z.number().int().positive(),
  ProcessType: z.enum(['Background', 'Standard', 'Adaptive', 'Interactive']),
  Umask: z.number().int().min(0).max(0o777),
  StandardOutPath: z.string().startsWith('/'),
  StandardErrorPath: z.string().startsWith('/'),
});
export type LaunchdPlist = z.output<typeof LaunchdPlist>;

export function launchdJob(spec: ServiceSpec, logPath: string): LaunchdPlist {
  return {
    Label: LAUNCHD_LABEL,
    ProgramArguments: serviceArgv(spec),
    WorkingDirectory: spec.home,
    ...(spec.env.length ? { EnvironmentVariables: Object.fromEntries(spec.env) } : {}),
    RunAtLoad: true,
    KeepAlive: { SuccessfulExit: false },
    ThrottleInterval: 10,
    // SIGTERM, then this long for the graceful stop (agents at a turn boundary, outboxes drained).
    ExitTimeOut: 60,
    ProcessType: 'Background',
    Umask: 0o077,
    StandardOutPath: logPath,
    StandardErrorPath: logPath,
  };
}

// ---------------------------------------------------------------------------------------- plist XML

type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function renderValue(v: PlistValue, indent: string): string[] {
  if (typeof v === 'string') return [`${indent}<string>${escapeXml(v)}</string>`];
  if (typeof v === 'boolean') return [`${indent}<${v ? 'true' : 'false'}/>`];
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`plist: only integers are written, not ${v}`);
    return [`${indent}<integer>${v}</integer>`];
  }
  if (Array.isArray(v))
    return [`${indent}<array>`, ...v.flatMap((x) => renderValue(x, indent + '\t')), `${indent}</array>`];
  return [
    `${indent}<dict>`,
    ...Object.entries(v).flatMap(([k, x]) => [
      `${indent}\t<key>${escapeXml(k)}</key>`,
      ...renderValue(x, indent + '\t'),
    ]),
    `${indent}</dict>`,
  ];
}

export function renderPlist(job: LaunchdPlist): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by `blobhub-worker service install`; run it again to update, `service uninstall` to remove. -->',
    '<plist version="1.0">',
    ...renderValue(job, ''),
    '</plist>',
    '',
  ].join('\n');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (all, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    const named = ENTITIES[e];
    if (named === undefined) throw new Error(`plist: unknown entity ${all}`);
    return named;
  });
}

/**
 * Reads an XML property list of dict / array / key / string / integer / true / false (what renderPlist
 * writes, and what `plutil -convert xml1` gives for such a job). Anything else is an error, not a guess.
 */
export function parsePlist(xml: string): unknown {
  const body = xml
    .replace(/<\?xml[^>]*\?>/, '')
    .replace(/<!DOCTYPE[^>]*>/, '')
    .replace(/<!--[\s\S]*?-->/g, '');
  const tokens = [...body.matchAll(/<(\/?)([a-zA-Z]+)([^>]*?)(\/?)>|([^<]+)/g)];
  let i = 0;
  const next = (): RegExpMatchArray => {
    const t = tokens[i++];
    if (!t) throw new Error('plist: unexpected end');
    return t;
  };
  const skipSpace = (): void => {
    while (tokens[i] && tokens[i][5] !== undefined && tokens[i][5].trim() === '') i++;
  };
  const textUntil = (tag: string): string => {
    let text = '';
    for (;;) {
      const t = next();
      if (t[5] !== undefined) text += t[5];
      else if (t[1] === '/' && t[2] === tag) return unescapeXml(text);
      else throw new Error(`plist: <${tag}> holds markup`);
    }
  };
  const value = (): PlistValue => {
    skipSpace();
    const t = next();
    if (t[5] !== undefined || t[1] === '/') throw new Error(`plist: expected a value, got ${t[0].trim()}`);
    const tag = t[2];
    const selfClosing = t[4] === '/';
    if (tag === 'true' || tag === 'false') {
      if (!selfClosing) {
        skipSpace();
        const close = next();
        if (close[1] !== '/' || close[2] !== tag) throw new Error(`plist: <${tag}> not closed`);
      }
      return tag === 'true';
    }
    if (selfClosing) {
      if (tag === 'string') return '';
      if (tag === 'array') return [];
      if (tag === 'dict') return {};
      throw new Error(`plist: empty <${tag}/>`);
    }
    if (tag === 'string') return textUntil('string');
    if (tag === 'integer') {
      const text = textUntil('integer').trim();
      if (!/^-?\d+$/.test(text)) throw new Error(`plist: bad integer ${text}`);
      return Number(text);
    }
    if (tag === 'array') {
      const out: PlistValue[] = [];
      for (;;) {
        skipSpace();
        if (tokens[i]?.[1] === '/' && tokens[i][2] === 'array') {
          i++;
          return out;
        }
        out.push(value());
      }
    }
    if (tag === 'dict') {
      const out: Record<string, PlistValue> = {};
      for (;;) {
        skipSpace();
        const t2 = next();
        if (t2[1] === '/' && t2[2] === 'dict') return out;
        if (t2[2] !== 'key' || t2[1] === '/') throw new Error(`plist: expected <key> in <dict>, got ${t2[0].trim()}`);
        const key = textUntil('key');
        if (key in out) throw new Error(`plist: duplicate key ${key}`);
        out[key] = value();
      }
    }
    throw new Error(`plist: unsupported element <${tag}>`);
  };
  skipSpace();
  const open = next();
  if (open[2] !== 'plist' || open[1] === '/') throw new Error('plist: no <plist> root');
  const root = value();
  skipSpace();
  const close = next();
  if (close[1] !== '/' || close[2] !== 'plist') throw new Error('plist: </plist> expected after the root value');
  skipSpace();
  if (i < tokens.length) throw new Error('plist: content after </plist>');
  return root;
}

/** `launchctl print <domain>/<label>` → running state and pid (launchctl's human format). */
export function parseLaunchctlPrint(text: string): { state: string | null; pid: number | null } {
  const state = /^\s*state = (\S+)/m.exec(text)?.[1] ?? null;
  const pid = /^\s*pid = (\d+)/m.exec(text)?.[1];
  return { state, pid: pid ? Number(pid) : null };
}

/** `launchctl print-disabled <domain>` → whether our label is listed as disabled. */
export function isDisabledIn(printDisabled: string): boolean {
  const m = new RegExp(`"${LAUNCHD_LABEL.replace(/\./g, '\\.')}" => (\\w+)`).exec(printDisabled);
  return m ? m[1] === 'disabled' || m[1] === 'true' : false;
}
