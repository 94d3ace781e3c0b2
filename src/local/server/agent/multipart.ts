/**
 * A streaming multipart/form-data parser: part bodies are handed to a sink chunk by chunk and the
 * sink's backpressure pauses the request, so an upload of any size uses bounded memory.
 */
import { ApiError } from '../errors.js';

export interface PartHeaders {
  name: string | null;
  filename: string | null;
  contentType: string | null;
}

export interface PartSink {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
}

const MAX_HEADER_BYTES = 16 * 1024;

export function boundaryOf(contentType: string | undefined): string {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!contentType?.toLowerCase().startsWith('multipart/form-data') || !match) {
    throw new ApiError(400, 'INVALID_REQUEST', 'Upload must be multipart/form-data with a "file" part (and optionally a "path" part)');
  }
  return match[1] ?? match[2];
}

export async function parseMultipart(
  source: AsyncIterable<Buffer>,
  boundary: string,
  onPart: (headers: PartHeaders) => Promise<PartSink>,
): Promise<void> {
  const opening = Buffer.from(`--${boundary}`);
  const separator = Buffer.from(`\r\n--${boundary}`);
  let buffer: Buffer = Buffer.alloc(0);
  let state: 'preamble' | 'after-boundary' | 'headers' | 'body' | 'done' = 'preamble';
  let sink: PartSink | null = null;

  const malformed = () => new ApiError(400, 'INVALID_REQUEST', 'Malformed multipart body');

  for await (const chunk of source) {
    if (state === 'body' && buffer.length > 0 && buffer.length < separator.length && chunk.length >= separator.length) {
      // Avoid copying every chunk: only a separator that starts in the held-back tail needs a join.
      const probe = Buffer.concat([buffer, chunk.subarray(0, separator.length - 1)]);
      const at = probe.indexOf(separator);
      if (at < 0 || at >= buffer.length) {
        await sink!.write(buffer);
        buffer = chunk;
      } else {
        buffer = Buffer.concat([buffer, chunk]);
      }
    } else {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    }
    let progressed = true;
    while (progressed && state !== 'done') {
      progressed = false;
      if (state === 'preamble') {
        const at = buffer.indexOf(opening);
        if (at >= 0) {
          buffer = buffer.subarray(at + opening.length);
          state = 'after-boundary';
          progressed = true;
        } else if (buffer.length > opening.length) {
          buffer = buffer.subarray(buffer.length - opening.length);
        }
      } else if (state === 'after-boundary') {
        if (buffer.length < 2) break;
        if (buffer[0] === 0x2d && buffer[1] === 0x2d) {
          state = 'done';
        } else {
          const lineEnd = buffer.indexOf('\r\n');
          if (lineEnd < 0) {
            if (buffer.length > 256) throw malformed();
            break;
          }
          buffer = buffer.subarray(lineEnd + 2); // transport padding after the boundary, then CRLF
          state = 'headers';
          progressed = true;
        }
      } else if (state === 'headers') {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buffer.length > MAX_HEADER_BYTES) throw malformed();
          break;
        }
        const headers = parseHeaders(buffer.subarray(0, end).toString('utf8'));
        buffer = buffer.subarray(end + 4);
        sink = await onPart(headers);
        state = 'body';
        progressed = true;
      } else if (state === 'body') {
        const at = buffer.indexOf(separator);
        if (at >= 0) {
          if (at > 0) await sink!.write(buffer.subarray(0, at));
          await sink!.end();
          sink = null;
          buffer = buffer.subarray(at + separator.length);
          state = 'after-boundary';
          progressed = true;
        } else {
          const keep = separator.length - 1;
          if (buffer.length > keep) {
            // No copy needed: nothing ever writes into these buffers.
            await sink!.write(buffer.subarray(0, buffer.length - keep));
            buffer = buffer.subarray(buffer.length - keep);
          }
        }
      }
    }
  }
  if (state !== 'done') throw new ApiError(400, 'INVALID_REQUEST', 'Multipart body ended early (no closing boundary)');
}

function parseHeaders(text: string): PartHeaders {
  const out: PartHeaders = { name: null, filename: null, contentType: null };
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'content-type') out.contentType = value;
    if (key === 'content-disposition') {
      out.name = param(value, 'name');
      out.filename = param(value, 'filename');
    }
  }
  return out;
}

function param(header: string, key: string): string | null {
  const match = new RegExp(`(?:^|;)\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i').exec(header);
  if (!match) return null;
  return (match[1] ?? match[2] ?? '').replace(/\\(.)/g, '$1').trim();
}
