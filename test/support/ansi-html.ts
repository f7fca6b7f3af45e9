/**
 * A `tmux capture-pane -e` screen (text with SGR sequences) as an HTML page with the same colours, for the
 * docs' terminal screenshots (rendered by headless Chromium). Handles what tmux emits: reset, bold, dim,
 * italic, underline, inverse, the 8/16 colours, 256-colour and true-colour foregrounds and backgrounds.
 */

/** xterm's default palette for the 16 basic colours. */
const PALETTE = [
  '#2e3436',
  '#cc0000',
  '#4e9a06',
  '#c4a000',
  '#3465a4',
  '#75507b',
  '#06989a',
  '#d3d7cf',
  '#555753',
  '#ef2929',
  '#8ae234',
  '#fce94f',
  '#729fcf',
  '#ad7fa8',
  '#34e2e2',
  '#eeeeec',
];
const FG = '#d3d7cf';
const BG = '#1e1e1e';

function color256(n: number): string {
  if (n < 16) return PALETTE[n];
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v},${v},${v})`;
  }
  const i = n - 16;
  const step = (x: number): number => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${step(Math.floor(i / 36))},${step(Math.floor(i / 6) % 6)},${step(i % 6)})`;
}

interface Style {
  fg: string | null;
  bg: string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
}

const plain = (): Style => ({
  fg: null,
  bg: null,
  bold: false,
  dim: false,
  italic: false,
  underline: false,
  inverse: false,
});

function apply(style: Style, params: number[]): Style {
  const s = { ...style };
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === 0) Object.assign(s, plain());
    else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 7) s.inverse = true;
    else if (p === 22) s.bold = s.dim = false;
    else if (p === 23) s.italic = false;
    else if (p === 24) s.underline = false;
    else if (p === 27) s.inverse = false;
    else if (p >= 30 && p <= 37) s.fg = PALETTE[p - 30];
    else if (p >= 90 && p <= 97) s.fg = PALETTE[p - 90 + 8];
    else if (p === 39) s.fg = null;
    else if (p >= 40 && p <= 47) s.bg = PALETTE[p - 40];
    else if (p >= 100 && p <= 107) s.bg = PALETTE[p - 100 + 8];
    else if (p === 49) s.bg = null;
    else if ((p === 38 || p === 48) && params[i + 1] === 5) {
      const c = color256(params[i + 2] ?? 0);
      if (p === 38) s.fg = c;
      else s.bg = c;
      i += 2;
    } else if ((p === 38 || p === 48) && params[i + 1] === 2) {
      const c = `rgb(${params[i + 2] ?? 0},${params[i + 3] ?? 0},${params[i + 4] ?? 0})`;
      if (p === 38) s.fg = c;
      else s.bg = c;
      i += 4;
    }
  }
  return s;
}

const escapeHtml = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function css(s: Style): string {
  let fg = s.fg ?? FG;
  let bg = s.bg ?? null;
  if (s.inverse) [fg, bg] = [bg ?? BG, fg];
  const parts = [`color:${fg}`];
  if (bg) parts.push(`background:${bg}`);
  if (s.bold) parts.push('font-weight:bold');
  if (s.dim) parts.push('opacity:0.6');
  if (s.italic) parts.push('font-style:italic');
  if (s.underline) parts.push('text-decoration:underline');
  return parts.join(';');
}

/** The screen as `<span style>` runs, one line per screen row. */
export function ansiToHtml(screen: string): string {
  let style = plain();
  let out = '';
  const re = new RegExp(`${String.fromCharCode(27)}\\[([0-9;]*)m`, 'g');
  let last = 0;
  const text = (t: string): void => {
    if (t) out += `<span style="${css(style)}">${escapeHtml(t)}</span>`;
  };
  for (let m = re.exec(screen); m; m = re.exec(screen)) {
    text(screen.slice(last, m.index));
    style = apply(style, m[1] === '' ? [0] : m[1].split(';').map((x) => Number(x) || 0));
    last = re.lastIndex;
  }
  text(screen.slice(last));
  return out;
}

/** A whole page: the terminal on a dark background in a monospace font. */
export function terminalPage(screen: string, title: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
  body { margin: 0; background: ${BG}; }
  pre { margin: 0; padding: 12px 14px; font: 14px/1.12 "DejaVu Sans Mono", "Liberation Mono", monospace;
        color: ${FG}; background: ${BG}; display: inline-block; }
</style></head><body><pre id="screen">${ansiToHtml(screen.replace(/\n+$/, ''))}</pre></body></html>`;
}
