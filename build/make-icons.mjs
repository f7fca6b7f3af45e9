// Generates the tray icons (per state; coloured for Windows/Linux, black+alpha "Template" images for the
// macOS menu bar, which the OS tints) and the app icon, as small PNGs with no image library: shapes are
// sampled 4×4 per pixel for anti-aliasing and encoded with zlib. Run: node build/make-icons.mjs
import { deflateSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
function png(size, pixel) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  const S = 4;
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let sy = 0; sy < S; sy++)
        for (let sx = 0; sx < S; sx++) {
          // Normalised coordinates in [-1, 1].
          const u = ((x + (sx + 0.5) / S) / size) * 2 - 1;
          const v = ((y + (sy + 0.5) / S) / size) * 2 - 1;
          const c = pixel(u, v);
          if (c) {
            r += c[0] * c[3];
            g += c[1] * c[3];
            b += c[2] * c[3];
            a += c[3];
          }
        }
      const o = y * (size * 4 + 1) + 1 + x * 4;
      raw[o] = a ? Math.round(r / a) : 0;
      raw[o + 1] = a ? Math.round(g / a) : 0;
      raw[o + 2] = a ? Math.round(b / a) : 0;
      raw[o + 3] = Math.round((a / (S * S)) * 255);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const hex = (h) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16), 1];
const WHITE = [255, 255, 255, 1];
const BLACK = [0, 0, 0, 1];
const d = (u, v) => Math.hypot(u, v);

// Each state: a shape function (u, v) → colour | null, given the base colour (coloured or template).
const states = {
  idle: { color: '#6b7b8c', shape: (c) => (u, v) => (d(u, v) <= 0.86 && d(u, v) >= 0.52 ? c : null) },
  running: {
    color: '#2e9e5b',
    shape: (c) => (u, v) => (d(u, v) <= 0.86 ? (d(u, v) <= 0.3 && c !== BLACK ? WHITE : c) : null),
  },
  needs_input: {
    color: '#d99a00',
    shape: (c, tpl) => (u, v) => {
      if (d(u, v) > 0.86) return null;
      const mark = (Math.abs(u) <= 0.13 && v >= -0.55 && v <= 0.15) || d(u, v - 0.42) <= 0.14;
      return mark ? (tpl ? null : WHITE) : c;
    },
  },
  error: {
    color: '#d64545',
    shape: (c, tpl) => (u, v) => {
      if (d(u, v) > 0.86) return null;
      const bar = Math.abs(v) <= 0.16 && Math.abs(u) <= 0.55;
      return bar ? (tpl ? null : WHITE) : c;
    },
  },
  signed_out: {
    color: '#8a8f98',
    shape: (c) => (u, v) => {
      const r = d(u, v);
      if (r > 0.86 || r < 0.56) return null;
      // A dashed ring: eight gaps.
      const angle = Math.atan2(v, u);
      return Math.cos(angle * 8) > -0.2 ? c : null;
    },
  },
};

// "Needs input" with the number of prompts waiting (1–9) in the disc, as a seven-segment digit: the count is
// readable in a 16 px tray slot where text rendering is not available. 10 and more show the "!" icon.
const SEGMENTS = {
  a: [0, -1, 'h'],
  b: [1, -0.5, 'v'],
  c: [1, 0.5, 'v'],
  d: [0, 1, 'h'],
  e: [-1, 0.5, 'v'],
  f: [-1, -0.5, 'v'],
  g: [0, 0, 'h'],
};
const DIGITS = ['abcdef', 'bc', 'abged', 'abgcd', 'fgbc', 'afgcd', 'afgcde', 'abc', 'abcdefg', 'abcdfg'];
function digitMark(n) {
  const W = 0.3; // half width of the digit box
  const H = 0.52; // half height
  const T = 0.085; // half stroke
  const segs = [...DIGITS[n]].map((k) => SEGMENTS[k]);
  return (u, v) =>
    segs.some(([sx, sy, dir]) => {
      const cu = sx * W;
      const cv = sy * H;
      return dir === 'h'
        ? Math.abs(v - cv) <= T && Math.abs(u - cu) <= W + T
        : Math.abs(u - cu) <= T && Math.abs(v - cv) <= H / 2 + T;
    });
}
for (let n = 1; n <= 9; n++) {
  const mark = digitMark(n);
  states[`needs_input-${n}`] = {
    color: states.needs_input.color,
    shape: (c, tpl) => (u, v) => {
      if (d(u, v) > 0.86) return null;
      return mark(u, v) ? (tpl ? null : WHITE) : c;
    },
  };
}

const trayDir = `${root}renderer/assets/tray/`;
mkdirSync(trayDir, { recursive: true });
for (const [name, { color, shape }] of Object.entries(states)) {
  for (const [suffix, size] of [
    ['', 16],
    ['@2x', 32],
  ]) {
    writeFileSync(`${trayDir}${name}${suffix}.png`, png(size, shape(hex(color), false)));
    writeFileSync(`${trayDir}${name}Template${suffix}.png`, png(size, shape(BLACK, true)));
  }
}

// App icon (electron-builder derives .icns/.ico from a 512×512 PNG): a rounded square with the "running" mark.
const blue = hex('#2f6fde');
writeFileSync(
  `${root}build/icon.png`,
  png(512, (u, v) => {
    const q = Math.max(Math.abs(u) - 0.62, 0) ** 2 + Math.max(Math.abs(v) - 0.62, 0) ** 2;
    if (q > 0.3 ** 2) return null;
    const r = d(u, v);
    if (r <= 0.5 && r >= 0.32) return WHITE;
    if (r <= 0.16) return WHITE;
    return blue;
  }),
);
console.log('icons written');
