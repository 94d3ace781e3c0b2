/**
 * The one way output is cut to a size, wherever it is bounded (the Python kernel, the local
 * agent, tool results, file reads): the head and the tail are kept, because the start shows what
 * ran and the end how it finished; the middle is replaced by one marker that says how much was cut,
 * after which line, and where the whole is. Cuts land on a line end when one is near (a partial
 * line beside the marker reads like real output) and never split a surrogate pair.
 *
 * A leaf module: it imports nothing of the project, so every layer may use it. Limits are always
 * passed in.
 */

export interface CutLimits {
  /** Characters kept, marker included. */
  maxChars: number;
  /** Share of the kept characters taken from the start; the rest come from the end. Default 0.4. */
  headShare?: number;
}

export interface CutNote {
  /** What is being cut, as the marker names it: "stdout", "file", ... */
  label: string;
  /** Where the whole is (a sandbox path, a URI); null when the whole was not kept. */
  where: string | null;
  /** Said after `where`, e.g. how to read it in pages. */
  hint?: string;
}

export interface CutInfo {
  /** UTF-8 bytes left out. */
  bytes: number;
  /** Line ends left out. */
  lines: number;
  /** Lines kept before the cut: the cut begins in or after line afterLine + 1. */
  afterLine: number;
}

export interface CutText {
  text: string;
  /** null: nothing was cut. */
  cut: CutInfo | null;
}

/** What the whole measured, when the text being cut is itself already a cut copy. */
export interface WholeSize {
  bytes: number;
  lines: number;
}

const DEFAULT_HEAD_SHARE = 0.4;
/** How far a cut may move to land on a line end. */
const LINE_SNAP_CHARS = 400;

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** `at`, moved back by one if it would split a surrogate pair of `text`. */
function safeSplit(text: string, at: number): number {
  return at > 0 && at < text.length && isLowSurrogate(text.charCodeAt(at)) && isHighSurrogate(text.charCodeAt(at - 1)) ? at - 1 : at;
}

export function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * One line cut to `maxChars` (an ellipsis included) for a one-line view such as a progress
 * message: the head is kept, tabs and control characters are shown as spaces.
 */
export function cutLine(line: string, maxChars: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = line.replace(/[\u0000-\u001f\u007f]/g, ' ');
  if (clean.length <= maxChars) return clean;
  return `${clean.slice(0, safeSplit(clean, Math.max(0, maxChars - 1)))}…`;
}

/** The marker that stands for a cut middle. One format for the whole project. */
export function cutMarker(info: CutInfo, note: CutNote): string {
  const whole = note.where ? `whole ${note.label}: ${note.where}${note.hint ? ` (${note.hint})` : ''}` : `the whole ${note.label} was not kept`;
  return `\n… [${info.bytes} bytes (${info.lines} lines) of ${note.label} cut after line ${info.afterLine}; ${whole}] …\n`;
}

/** The marker's longest form for this note, so room for it can be reserved before counting. */
function markerReserve(note: CutNote): number {
  const wide = 10 ** 15;
  return cutMarker({ bytes: wide, lines: wide, afterLine: wide }, note).length;
}

/** Cuts `text` to `limits.maxChars` (marker included), keeping its head and tail. */
export function cutMiddle(text: string, limits: CutLimits, note: CutNote, whole?: WholeSize): CutText {
  if (text.length <= limits.maxChars) return { text, cut: null };
  const { headChars, tailChars } = shares(limits, note);
  // Pieces a little longer than their shares, so the cut can move to a line end.
  const headEnd = safeSplit(text, Math.min(text.length, headChars + LINE_SNAP_CHARS));
  const tailStart = safeSplit(text, Math.max(headEnd, text.length - tailChars - LINE_SNAP_CHARS));
  const middle = text.slice(headEnd, tailStart);
  return joinCut(text.slice(0, headEnd), text.slice(tailStart), { bytes: utf8Bytes(middle), lines: countLines(middle) }, limits, note, whole);
}

function shares(limits: CutLimits, note: CutNote): { room: number; headChars: number; tailChars: number } {
  const room = Math.max(0, limits.maxChars - markerReserve(note));
  const headChars = Math.ceil(room * (limits.headShare ?? DEFAULT_HEAD_SHARE));
  return { room, headChars, tailChars: room - headChars };
}

/**
 * Joins a head and a tail (either possibly longer than its share) around one marker. `middle`
 * measures what is already gone between them. With `whole`, the marker's counts are the whole's
 * minus what is kept (for text that was already cut once, e.g. by the sandbox's agent).
 */
export function joinCut(head: string, tail: string, middle: WholeSize, limits: CutLimits, note: CutNote, whole?: WholeSize): CutText {
  const { room, headChars, tailChars } = shares(limits, note);
  // A short side gives its unused share to the other.
  let h = Math.min(head.length, Math.max(headChars, room - tail.length));
  let t = tail.length - Math.min(tail.length, Math.max(tailChars, room - h));
  const slack = Math.min(LINE_SNAP_CHARS, Math.floor(room / 10));
  const headBreak = head.lastIndexOf('\n', h - 1);
  if (h > 0 && headBreak >= 0 && h - headBreak <= slack) h = headBreak; // the newline goes with the cut
  const tailBreak = tail.indexOf('\n', t);
  if (tailBreak >= 0 && tailBreak - t < slack) t = tailBreak + 1;
  if (h > 0 && isHighSurrogate(head.charCodeAt(h - 1))) h -= 1;
  if (t < tail.length && isLowSurrogate(tail.charCodeAt(t))) t += 1;
  const keptHead = head.slice(0, h);
  const keptTail = tail.slice(t);
  let info: CutInfo;
  if (whole) {
    info = {
      bytes: Math.max(0, whole.bytes - utf8Bytes(keptHead) - utf8Bytes(keptTail)),
      lines: Math.max(0, whole.lines - countLines(keptHead) - countLines(keptTail)),
      afterLine: 0,
    };
  } else {
    const cutHead = head.slice(h);
    const cutTail = tail.slice(0, t);
    info = {
      bytes: middle.bytes + utf8Bytes(cutHead) + utf8Bytes(cutTail),
      lines: middle.lines + countLines(cutHead) + countLines(cutTail),
      afterLine: 0,
    };
  }
  info.afterLine = keptHead === '' ? 0 : countLines(keptHead) + 1;
  if (info.bytes === 0) return { text: head + tail, cut: null };
  return { text: `${keptHead}${cutMarker(info, note)}${keptTail}`, cut: info };
}

/**
 * Collects a stream of text chunks in bounded memory: the head and a rolling tail, each a little
 * over its share so the final cut can still move to a line end; everything between is only
 * counted. `finish` cuts with the same rules as cutMiddle.
 */
export class HeadTailBuffer {
  private head = '';
  private tail: string[] = [];
  private tailChars = 0;
  private dropped: WholeSize = { bytes: 0, lines: 0 };
  private chars = 0;
  private bytes = 0;
  private lines = 0;
  private readonly headCap: number;
  private readonly tailCap: number;

  constructor(private readonly limits: CutLimits) {
    const share = limits.headShare ?? DEFAULT_HEAD_SHARE;
    this.headCap = Math.ceil(limits.maxChars * share) + LINE_SNAP_CHARS;
    this.tailCap = limits.maxChars - Math.ceil(limits.maxChars * share) + LINE_SNAP_CHARS;
  }

  append(chunk: string): void {
    if (!chunk) return;
    this.chars += chunk.length;
    this.bytes += utf8Bytes(chunk);
    this.lines += countLines(chunk);
    if (this.head.length < this.headCap) {
      const room = safeSplit(chunk, this.headCap - this.head.length);
      this.head += chunk.slice(0, room);
      chunk = chunk.slice(room);
      if (!chunk) return;
    }
    this.tail.push(chunk);
    this.tailChars += chunk.length;
    // Drop whole chunks from the front of the tail while the rest still fills it, then trim one.
    while (this.tail.length > 1 && this.tailChars - this.tail[0].length >= this.tailCap) {
      const gone = this.tail.shift()!;
      this.forget(gone);
      this.tailChars -= gone.length;
    }
    let excess = this.tailChars - this.tailCap;
    if (excess > 0 && safeSplit(this.tail[0], excess) !== excess) excess += 1; // drop the whole pair
    if (excess > 0) {
      this.forget(this.tail[0].slice(0, excess));
      this.tail[0] = this.tail[0].slice(excess);
      this.tailChars -= excess;
    }
  }

  private forget(text: string): void {
    this.dropped.bytes += utf8Bytes(text);
    this.dropped.lines += countLines(text);
  }

  /** Whether the text so far is longer than the limit (finish will cut it). */
  get overLimit(): boolean {
    return this.chars > this.limits.maxChars;
  }

  /** Whether anything was already dropped (the text so far can no longer be had whole). */
  get lossy(): boolean {
    return this.dropped.bytes > 0;
  }

  /** Everything appended, while nothing was dropped; null after. */
  whole(): string | null {
    return this.lossy ? null : this.head + this.tail.join('');
  }

  /** Size of everything appended. */
  get size(): WholeSize & { chars: number } {
    return { bytes: this.bytes, lines: this.lines, chars: this.chars };
  }

  finish(note: CutNote): CutText {
    const tail = this.tail.join('');
    if (!this.overLimit) return { text: this.head + tail, cut: null };
    return joinCut(this.head, tail, this.dropped, this.limits, note);
  }
}
