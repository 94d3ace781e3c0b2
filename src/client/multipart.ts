/**
 * A multipart/form-data body built as a stream: small text preamble, the file bytes as they are
 * read, closing boundary. Nothing holds the whole file, so a 1 GB upload costs one read buffer.
 * When the file size is known the exact Content-Length is computed up front (no chunked encoding).
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

export interface MultipartFile {
  /** Form field name of the file part (`file` for the HopX agent). */
  field: string;
  filename: string;
  contentType: string;
  data: AsyncIterable<Uint8Array>;
  /** Byte size when known (enables Content-Length). */
  size?: number;
}

export interface MultipartBody {
  stream: Readable;
  contentType: string;
  contentLength?: number;
}

/** Quote a value for a Content-Disposition parameter; CR/LF and quotes would break the header. */
function quoted(value: string): string {
  return `"${value.replace(/[\r\n]/g, ' ').replace(/["\\]/g, '\\$&')}"`;
}

export function multipartBody(fields: Record<string, string>, file: MultipartFile): MultipartBody {
  const boundary = `----hopx-${randomBytes(12).toString('hex')}`;
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(name)}\r\n\r\n${value}\r\n`;
  }
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(file.field)}; filename=${quoted(file.filename)}\r\n` +
    `Content-Type: ${file.contentType}\r\n\r\n`;
  const headBytes = Buffer.from(head, 'utf8');
  const tailBytes = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');

  async function* generate(): AsyncGenerator<Uint8Array> {
    yield headBytes;
    let sent = 0;
    for await (const chunk of file.data) {
      sent += chunk.byteLength;
      yield chunk;
    }
    if (file.size !== undefined && sent !== file.size) {
      // The declared Content-Length would be wrong; fail rather than send a corrupt body.
      throw new Error(`upload source produced ${sent} bytes but its size was given as ${file.size}`);
    }
    yield tailBytes;
  }

  return {
    stream: Readable.from(generate(), { objectMode: false }),
    contentType: `multipart/form-data; boundary=${boundary}`,
    ...(file.size === undefined ? {} : { contentLength: headBytes.length + file.size + tailBytes.length }),
  };
}
