/**
 * Reads a file stream keeping at most a prefix and a rolling tail in memory, so a tool asked to
 * read a multi-gigabyte file returns its head and tail instead of exhausting the server's memory.
 */
export interface BoundedRead {
  /** The first `limit` bytes (all of it when `complete`). */
  prefix: Buffer;
  /** The last `tailBytes` bytes seen. */
  tail: Buffer;
  totalBytes: number;
  /** The whole file fit in `prefix`. */
  complete: boolean;
}

export async function readBounded(stream: AsyncIterable<Uint8Array>, limit: number, tailBytes: number): Promise<BoundedRead> {
  const prefix: Buffer[] = [];
  let prefixLen = 0;
  let tail: Buffer[] = [];
  let tailLen = 0;
  let total = 0;
  for await (const raw of stream) {
    const chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    total += chunk.length;
    if (prefixLen < limit) {
      const take = chunk.subarray(0, limit - prefixLen);
      prefix.push(Buffer.from(take));
      prefixLen += take.length;
    }
    if (tailBytes > 0) {
      tail.push(Buffer.from(chunk.length > tailBytes ? chunk.subarray(chunk.length - tailBytes) : chunk));
      tailLen += Math.min(chunk.length, tailBytes);
      while (tail.length > 1 && tailLen - tail[0].length >= tailBytes) {
        tailLen -= tail[0].length;
        tail = tail.slice(1);
      }
    }
  }
  const tailBuf = Buffer.concat(tail);
  return {
    prefix: Buffer.concat(prefix),
    tail: tailBuf.subarray(Math.max(0, tailBuf.length - tailBytes)),
    totalBytes: total,
    complete: total <= limit,
  };
}

/** Reads the whole stream, failing once it passes `maxBytes`. */
export async function readAll(stream: AsyncIterable<Uint8Array>, maxBytes: number, tooBig: (seen: number) => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const raw of stream) {
    total += raw.byteLength;
    if (total > maxBytes) throw tooBig(total);
    chunks.push(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
  }
  return Buffer.concat(chunks);
}

/** `b` without a trailing, cut multi-byte UTF-8 sequence. */
export function trimUtf8End(b: Buffer): Buffer {
  let i = b.length;
  let back = 0;
  while (i > 0 && back < 3 && (b[i - 1] & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i > 0 && b[i - 1] >= 0xc0) {
    const lead = b[i - 1];
    const need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
    if (back < need) return b.subarray(0, i - 1);
  }
  return b;
}

/** `b` without leading UTF-8 continuation bytes (the end of a character cut off before it). */
export function trimUtf8Start(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length && i < 3 && (b[i] & 0xc0) === 0x80) i++;
  return b.subarray(i);
}

/** How far a cut may move to land on a line end. */
const LINE_SNAP_BYTES = 400;

/** `b` up to its last line end when one is within reach (newline dropped), else `b`. */
export function toLastLineEnd(b: Buffer): Buffer {
  const i = b.lastIndexOf(0x0a);
  return i >= 0 && b.length - i <= LINE_SNAP_BYTES ? b.subarray(0, i) : b;
}

/** `b` from just after its first line end when one is within reach, else `b`. */
export function fromFirstLineStart(b: Buffer): Buffer {
  const i = b.indexOf(0x0a);
  return i >= 0 && i < LINE_SNAP_BYTES ? b.subarray(i + 1) : b;
}
