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
  /** Line ends in the whole stream. */
  lines: number;
  /** The whole file fit in `prefix`. */
  complete: boolean;
}

export async function readBounded(stream: AsyncIterable<Uint8Array>, limit: number, tailBytes: number): Promise<BoundedRead> {
  const prefix: Buffer[] = [];
  let prefixLen = 0;
  let tail: Buffer[] = [];
  let tailLen = 0;
  let total = 0;
  let lines = 0;
  for await (const raw of stream) {
    const chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    total += chunk.length;
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) lines++;
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
  // The tail never repeats bytes the prefix holds (a stream only a little longer than `limit`).
  const keepTail = Math.min(tailBytes, Math.max(0, total - prefixLen));
  return {
    prefix: Buffer.concat(prefix),
    tail: tailBuf.subarray(tailBuf.length - Math.min(keepTail, tailBuf.length)),
    totalBytes: total,
    lines,
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
