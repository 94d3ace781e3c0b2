/** Agent: files (docs/hopx-wire.md §5.7, §5.12 watch). */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { AgentConnection } from './agent.js';
import type { ClientContext } from './context.js';
import { AbortedError, FileNotFoundError, IsADirectoryError, ValidationError } from './errors.js';
import { errorFromTransport } from './error-table.js';
import { multipartBody } from './multipart.js';
import * as check from './validate.js';
import { openAgentSocket } from './ws.js';
import { asRecord, str, toFileChangeEvent, toFileList, type Json } from './wire.js';
import type { CallOptions, FileChangeEvent, FileInfo, FilesApi, WatchStatusHooks, WriteFileOptions } from './types.js';

/** Uploads and downloads of big files legitimately take long; this bounds waiting for headers. */
const TRANSFER_TIMEOUT_MS = 600_000;
const DEFAULT_LIST_PATH = '/workspace';

type UploadSource = { localPath: string } | { stream: AsyncIterable<Uint8Array>; filename: string; size?: number };

function writeBody(path: string, content: string, options: WriteFileOptions, encoding?: 'base64'): Json {
  const mode = options.mode ?? '0644';
  if (typeof mode !== 'string' || !/^0?[0-7]{3,4}$/.test(mode)) {
    throw new ValidationError(`mode must be an octal string like "0644" or "0755"; got ${JSON.stringify(mode)}.`);
  }
  if (options.overwrite !== undefined && typeof options.overwrite !== 'boolean') {
    throw new ValidationError('overwrite must be true or false.');
  }
  return {
    path: check.sandboxPath(path),
    content,
    ...(encoding ? { encoding } : {}),
    mode,
    overwrite: options.overwrite ?? true,
  };
}

export class Files implements FilesApi {
  constructor(
    private readonly ctx: ClientContext,
    private readonly conn: AgentConnection,
  ) {}

  async read(path: string, call: CallOptions = {}): Promise<string> {
    const p = check.sandboxPath(path);
    const res = await this.orDirectory(p, call, () =>
      this.conn.request<Json>({ method: 'GET', path: '/files/read', query: { path: p }, response: 'json', context: fileContext('read file', p) }, call),
    );
    const content = asRecord(res.data).content;
    return typeof content === 'string' ? content : '';
  }

  async readBytes(path: string, call: CallOptions = {}): Promise<Buffer> {
    const p = check.sandboxPath(path);
    const res = await this.orDirectory(p, call, () =>
      this.conn.request<Buffer>(
        {
          method: 'GET',
          path: '/files/download',
          query: { path: p },
          response: 'buffer',
          defaultTimeoutMs: TRANSFER_TIMEOUT_MS,
          context: fileContext('download file', p),
        },
        call,
      ),
    );
    return res.data;
  }

  async write(path: string, content: string, options: WriteFileOptions = {}, call: CallOptions = {}): Promise<void> {
    if (typeof content !== 'string') throw new ValidationError('content must be a string; use writeBytes for binary data.');
    await this.postWrite(writeBody(path, content, options), call);
  }

  async writeBytes(path: string, data: Uint8Array, options: WriteFileOptions = {}, call: CallOptions = {}): Promise<void> {
    if (!(data instanceof Uint8Array)) throw new ValidationError('data must be a Buffer or Uint8Array.');
    await this.postWrite(writeBody(path, Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'), options, 'base64'), call);
  }

  async list(path: string = DEFAULT_LIST_PATH, call: CallOptions = {}): Promise<FileInfo[]> {
    const p = check.sandboxPath(path);
    const res = await this.conn.request<unknown>(
      { method: 'GET', path: '/files/list', query: { path: p }, response: 'json', context: fileContext('list directory', p) },
      call,
    );
    return toFileList(res.data);
  }

  async exists(path: string, call: CallOptions = {}): Promise<boolean> {
    const p = check.sandboxPath(path);
    try {
      const res = await this.conn.request<Json>(
        { method: 'GET', path: '/files/exists', query: { path: p }, response: 'json', context: fileContext('check a file', p) },
        call,
      );
      return asRecord(res.data).exists === true;
    } catch (error) {
      // Some agents answer 404 for a missing path instead of {exists:false}.
      if (error instanceof FileNotFoundError) return false;
      throw error;
    }
  }

  async remove(path: string, call: CallOptions = {}): Promise<void> {
    const p = check.sandboxPath(path);
    await this.conn.request(
      { method: 'DELETE', path: '/files/remove', query: { path: p }, response: 'none', context: fileContext('remove file', p) },
      call,
    );
  }

  async mkdir(path: string, call: CallOptions = {}): Promise<void> {
    const p = check.sandboxPath(path);
    await this.conn.request(
      { method: 'POST', path: '/files/mkdir', json: { path: p }, response: 'none', context: fileContext('create directory', p) },
      call,
    );
  }

  async upload(destinationPath: string, source: UploadSource, call: CallOptions = {}): Promise<void> {
    const destination = check.sandboxPath(destinationPath, 'destinationPath');
    let part: { filename: string; data: () => AsyncIterable<Uint8Array>; size?: number; replayable: boolean };
    if ('localPath' in source) {
      const localPath = check.nonEmptyString(source.localPath, 'localPath', '"./data.csv"');
      const size = await localFileSize(localPath);
      // A fresh read stream each time, so a 401-refresh resend works.
      part = { filename: basename(localPath), data: () => createReadStream(localPath, { highWaterMark: 64 * 1024 }), size, replayable: true };
    } else {
      if (!source || typeof source.stream?.[Symbol.asyncIterator] !== 'function') {
        throw new ValidationError('upload source must be { localPath } or { stream, filename } with an async iterable of bytes.');
      }
      const filename = check.nonEmptyString(source.filename, 'filename', '"data.csv"');
      if (source.size !== undefined && (!Number.isInteger(source.size) || source.size < 0)) {
        throw new ValidationError(`size must be the stream's byte count (a whole number ≥ 0), or omitted; got ${String(source.size)}.`);
      }
      // A caller's stream can be read only once: make sure the token is fresh before sending.
      await this.conn.token(call);
      part = { filename, data: () => source.stream, size: source.size, replayable: false };
    }
    await this.conn.request(
      {
        method: 'POST',
        path: '/files/upload',
        body: () =>
          multipartBody(
            { path: destination },
            {
              field: 'file',
              filename: part.filename,
              contentType: 'application/octet-stream',
              data: part.data(),
              ...(part.size === undefined ? {} : { size: part.size }),
            },
          ),
        replayable: part.replayable,
        response: 'none',
        defaultTimeoutMs: TRANSFER_TIMEOUT_MS,
        context: fileContext('upload file', destination),
      },
      call,
    );
  }

  async download(path: string, call: CallOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const p = check.sandboxPath(path);
    const res = await this.orDirectory(p, call, () =>
      this.conn.request<AsyncIterable<Uint8Array>>(
        {
          method: 'GET',
          path: '/files/download',
          query: { path: p },
          response: 'stream',
          defaultTimeoutMs: TRANSFER_TIMEOUT_MS,
          context: fileContext('download file', p),
        },
        call,
      ),
    );
    return mapStreamErrors(res.data, p, call.signal);
  }

  async *watch(path: string, call: CallOptions = {}, status: WatchStatusHooks = {}): AsyncIterable<FileChangeEvent> {
    const p = check.sandboxPath(path);
    const socket = await openAgentSocket(this.ctx, this.conn, '/files/watch', 'watch files', call);
    try {
      socket.send({ action: 'watch', path: p });
      for await (const frame of socket.messages) {
        const event = toFileChangeEvent(frame);
        if (event) yield event;
        else watchStatus(frame, status);
      }
    } catch (error) {
      // Watching ends when the caller aborts; that is the normal way to stop it.
      if (!(error instanceof AbortedError)) throw error;
    } finally {
      socket.close();
    }
  }

  private async postWrite(body: Json, call: CallOptions): Promise<void> {
    const p = str(body.path) ?? '';
    await this.orDirectory(p, call, () =>
      this.conn.request(
        { method: 'POST', path: '/files/write', json: body, response: 'none', defaultTimeoutMs: TRANSFER_TIMEOUT_MS, context: fileContext('write file', p) },
        call,
      ),
    );
  }

  /**
   * Runs a file operation; when the agent refuses the path as invalid and the path lists as a
   * directory, the error says so (IsADirectoryError). HopX agents word that refusal in prose
   * only, so the client asks rather than reads their message.
   */
  private async orDirectory<T>(path: string, call: CallOptions, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      if (!(error instanceof ValidationError) || error.code !== 'INVALID_PATH' || call.signal?.aborted) throw error;
      const isDirectory = await this.list(path, { ...(call.signal ? { signal: call.signal } : {}), timeoutMs: 10_000 }).then(
        () => true,
        () => false,
      );
      if (!isDirectory) throw error;
      throw new IsADirectoryError(`${path} is a directory, not a file.`, {
        operation: error.operation,
        sandboxId: error.sandboxId,
        path,
        status: error.status,
        code: error.code,
        requestId: error.requestId,
        serverMessage: error.serverMessage,
        cause: error,
      });
    }
  }
}

/** The agent's non-change frames: `watching` (the watch is in place) and `error` (it is not, or events were dropped). */
function watchStatus(frame: unknown, hooks: WatchStatusHooks): void {
  const body = frame !== null && typeof frame === 'object' ? (frame as Record<string, unknown>) : {};
  if (body.type === 'watching') hooks.watching?.(typeof body.path === 'string' ? body.path : '');
  else if (body.type === 'error') {
    const message = typeof body.message === 'string' ? body.message : typeof body.error === 'string' ? body.error : 'watch failed';
    hooks.error?.(message, typeof body.code === 'string' ? body.code : null);
  }
}

function fileContext(operation: string, path: string) {
  return { operation, resource: 'file' as const, path };
}

async function localFileSize(localPath: string): Promise<number> {
  try {
    const info = await stat(localPath);
    if (!info.isFile()) throw new ValidationError(`localPath ${localPath} is not a regular file; give the path of a file to upload.`);
    return info.size;
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`localPath ${localPath} cannot be read on this machine (${(error as NodeJS.ErrnoException).code ?? 'error'}). Check the path.`);
  }
}

/** A body that breaks mid-transfer raises our error classes, not undici's. */
async function* mapStreamErrors(body: AsyncIterable<Uint8Array>, path: string, signal?: AbortSignal): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } catch (cause) {
    if (signal?.aborted) throw new AbortedError(`Cancelled: downloading ${path} was aborted by the caller.`, { cause });
    throw errorFromTransport(cause, { operation: `download ${path}`, plane: 'agent', resource: 'file', path });
  }
}
