/**
 * Line framing of agent stdout/stderr. Works on Buffers so a multi-byte character or a 1 MB line split across
 * chunks is reassembled before decoding; chunks are collected in a list, not concatenated per chunk, so a
 * huge line costs O(n), not O(n²). A line longer than the cap (16 MiB by default) is cut: its bytes are
 * dropped as they arrive (memory stays bounded), it is reported once through `onOverlong` with its size and
 * its first bytes, and the next line is read as usual.
 */

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
/** How much of an over-long line is kept for the report. */
export const OVERLONG_HEAD_BYTES = 1024;

export interface OverlongLine {
  /** The line's full length in bytes (without the newline). */
  bytes: number;
  /** Its first bytes, decoded (a character cut at the end becomes U+FFFD). */
  head: string;
  limit: number;
}

export interface LineSplitterOptions {
  maxLineBytes?: number;
  onOverlong?: (line: OverlongLine) => void;
}

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** Set while the current line is over the cap: its head, and how many bytes it had so far. */
  private overlong: { head: Buffer; bytes: number } | null = null;
  private readonly max: number;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly options: LineSplitterOptions = {},
  ) {
    this.max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      this.add(chunk.subarray(start, nl));
      this.emit();
      start = nl + 1;
    }
    if (start < chunk.length) this.add(chunk.subarray(start));
  }

  /** Emits a trailing line without a newline (at EOF). */
  end(): void {
    if (this.parts.length > 0 || this.overlong) this.emit();
  }

  private add(piece: Buffer): void {
    if (piece.length === 0) {
      if (!this.overlong) this.parts.push(piece);
      return;
    }
    if (this.overlong) {
      this.overlong.bytes += piece.length;
      return;
    }
    if (this.size + piece.length > this.max) {
      // The head from the first pieces only: joining the whole 16 MiB once more would double the peak.
      const heads: Buffer[] = [];
      let headBytes = 0;
      for (const part of [...this.parts, piece]) {
        if (headBytes >= OVERLONG_HEAD_BYTES) break;
        heads.push(part.subarray(0, OVERLONG_HEAD_BYTES - headBytes));
        headBytes += heads[heads.length - 1].length;
      }
      this.overlong = { head: Buffer.concat(heads), bytes: this.size + piece.length };
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(piece);
    this.size += piece.length;
  }

  private emit(): void {
    if (this.overlong) {
      const { head, bytes } = this.overlong;
      this.overlong = null;
      this.options.onOverlong?.({ bytes, head: head.toString('utf8'), limit: this.max });
      return;
    }
    const buf = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    let line = buf.toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    this.onLine(line);
  }
}
