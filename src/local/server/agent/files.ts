/**
 * /files/*: host-side operations on the sandbox's directories. Paths go through the runtime's
 * confinement (resolvePath), then every host operation goes through ConfinedFs, which refuses to
 * follow a symlink the sandbox swaps in between that check and the operation (the backend may be
 * root). Upload and download stream; nothing holds a whole file in memory except /files/read and
 * /files/write, whose JSON bodies are capped.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { SandboxPathError } from '../../runtime/errors.js';
import type { ResolvedPath } from '../../runtime/types.js';
import { ApiError, invalidField, missingParameter } from '../errors.js';
import { type Router, nowIso, readJsonBody, sendJson } from '../http.js';
import { ConfinedFs, ConfinementError } from '../../runtime/confined-fs.js';
import type { AgentContext } from './context.js';
import { boundaryOf, parseMultipart, type PartSink } from './multipart.js';
import { type Owner, sandboxOwner } from '../../runtime/ownership.js';

/** /files/read returns at most this much; larger files go through /files/download. */
const MAX_READ_BYTES = 32 * 1024 * 1024;
const ROOTS = new Set(['/', '/workspace', '/root', '/tmp']);

export function registerFileRoutes(router: Router, ctx: AgentContext): void {
  const resolve = (path: string) => resolveSandboxPath(ctx, path);
  let ownerOnce: Promise<Owner | null> | null = null;
  const owner = () => (ownerOnce ??= sandboxOwner(ctx.sandbox.runtime.dirs.workspace).catch((err) => {
    ownerOnce = null;
    throw err;
  }));
  const files = new ConfinedFs(ctx.sandbox.runtime.dirs, owner);

  router.add('GET', '/files/read', async ({ res, url }) => {
    const target = await resolve(queryPath(url));
    const { handle, stats } = await files.openRead(target.hostPath).catch((err) => {
      throw fsError(err, target, 'FILE_NOT_FOUND');
    });
    let data: Buffer;
    try {
      if (stats.isDirectory()) throw isDirectory(target);
      if (!stats.isFile()) throw notRegularFile(target);
      if (stats.size > MAX_READ_BYTES) {
        throw new ApiError(400, 'INVALID_REQUEST', `File is ${stats.size} bytes; /files/read returns at most ${MAX_READ_BYTES}. Use GET /files/download`, {
          path: target.sandboxPath,
        });
      }
      data = await readUpTo(handle, stats.size);
    } finally {
      await handle.close();
    }
    const encoding = url.searchParams.get('encoding') === 'base64' ? 'base64' : 'utf8';
    sendJson(res, 200, { content: data.toString(encoding), path: target.sandboxPath, size: data.length, encoding });
  });

  router.add('POST', '/files/write', async ({ req, res }) => {
    const body = await readJsonBody(req);
    if (typeof body.path !== 'string' || !body.path) throw missingParameter('path', 'absolute sandbox path, e.g. /workspace/a.txt');
    if (typeof body.content !== 'string') throw missingParameter('content', 'the file content as a string (base64 with "encoding": "base64")');
    const encoding = body.encoding ?? 'utf8';
    if (encoding !== 'base64' && encoding !== 'utf8' && encoding !== 'utf-8' && encoding !== 'text') {
      throw invalidField('encoding', 'use "base64" for bytes, or leave it out for text');
    }
    const mode = parseMode(body.mode);
    const overwrite = body.overwrite !== false;
    const target = await resolve(body.path);
    const data = encoding === 'base64' ? Buffer.from(body.content, 'base64') : Buffer.from(body.content, 'utf8');
    const handle = await files.openWrite(target.hostPath, { mode, overwrite }).catch((err) => {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && !overwrite) {
        throw new ApiError(409, 'FILE_ALREADY_EXISTS', `File already exists: ${target.sandboxPath} (send "overwrite": true to replace it)`, {
          path: target.sandboxPath,
        });
      }
      throw fsError(err, target, 'DIRECTORY_NOT_FOUND');
    });
    try {
      await handle.writeFile(data);
    } catch (err) {
      throw fsError(err, target, 'FILE_NOT_FOUND');
    } finally {
      await handle.close();
    }
    sendJson(res, 200, fileResponse('File written successfully', target, data.length));
  });

  router.add('GET', '/files/list', async ({ res, url }) => {
    const target = await resolve(url.searchParams.get('path') || '/workspace');
    const entries = await files.list(target.hostPath).catch((err) => {
      throw fsError(err, target, 'DIRECTORY_NOT_FOUND');
    });
    const listing = entries.map((e) => fileInfo(e.name, posix.join(target.sandboxPath, e.name), e.stats));
    sendJson(res, 200, { files: listing, count: listing.length, path: target.sandboxPath });
  });

  router.add('GET', '/files/exists', async ({ res, url }) => {
    const target = await resolve(queryPath(url));
    const st = await files.lstat(target.hostPath).catch((err) => {
      throw fsError(err, target, 'FILE_NOT_FOUND');
    });
    sendJson(res, 200, { exists: st !== null, path: target.sandboxPath, is_directory: st?.isDirectory() ?? false });
  });

  router.add('DELETE', '/files/remove', async ({ res, url }) => {
    const target = await resolve(queryPath(url));
    if (ROOTS.has(target.sandboxPath)) {
      throw new ApiError(403, 'PATH_NOT_ALLOWED', `Refusing to remove ${target.sandboxPath} itself; remove its contents instead`, {
        path: target.sandboxPath,
      });
    }
    await files.remove(target.hostPath).catch((err) => {
      throw fsError(err, target, 'FILE_NOT_FOUND');
    });
    sendJson(res, 200, fileResponse('File removed successfully', target, 0));
  });

  router.add('POST', '/files/mkdir', async ({ req, res }) => {
    const body = await readJsonBody(req);
    if (typeof body.path !== 'string' || !body.path) throw missingParameter('path', 'absolute sandbox path, e.g. /workspace/data');
    const target = await resolve(body.path);
    await files.mkdirp(target.hostPath).catch((err) => {
      throw fsError(err, target, 'DIRECTORY_NOT_FOUND');
    });
    sendJson(res, 200, fileResponse('Directory created successfully', target, 0));
  });

  router.add('POST', '/files/upload', async ({ req, res, url }) => {
    const boundary = boundaryOf(req.headers['content-type']);
    // Host-only (the run dir is not mounted in the sandbox), so the sandbox cannot touch it.
    const tmp = `${ctx.sandbox.runtime.dirs.run}/upload-${randomBytes(6).toString('hex')}`;
    let destination = url.searchParams.get('path');
    let filename: string | null = null;
    let size = 0;
    let sawFile = false;
    let sink: Awaited<ReturnType<typeof fileSink>> | null = null;
    try {
      await parseMultipart(req, boundary, async (part): Promise<PartSink> => {
        if (part.name === 'file' || (part.filename !== null && !sawFile)) {
          if (sawFile) throw new ApiError(400, 'INVALID_REQUEST', 'Only one "file" part per upload');
          sawFile = true;
          filename = part.filename;
          sink = await fileSink(tmp, await owner(), (n) => (size += n));
          return sink;
        }
        return textSink((text) => {
          if (part.name === 'path') destination = text;
        });
      });
      if (!sawFile) throw new ApiError(400, 'MISSING_PARAMETER', 'Missing multipart part "file"', { details: { missing_field: 'file' } });
      const fallbackName = basename(filename ?? '') || 'upload.bin';
      const target = await resolve(destination || `/workspace/${fallbackName}`);
      try {
        if ((await files.moveIn(tmp, target.hostPath)) === 'cross-device') {
          const out = await files.openWrite(target.hostPath, { mode: 0o644, overwrite: true });
          await pipeline(createReadStream(tmp), out.createWriteStream());
        }
      } catch (err) {
        throw fsError(err, target, 'DIRECTORY_NOT_FOUND');
      }
      sendJson(res, 200, fileResponse('File uploaded successfully', target, size));
    } finally {
      await (sink as { close(): Promise<void> } | null)?.close();
      await unlink(tmp).catch(() => undefined);
    }
  });

  router.add('GET', '/files/download', async ({ res, url }) => {
    const target = await resolve(queryPath(url));
    const { handle, stats } = await files.openRead(target.hostPath).catch((err) => {
      throw fsError(err, target, 'FILE_NOT_FOUND');
    });
    if (!stats.isFile()) {
      await handle.close();
      throw stats.isDirectory() ? isDirectory(target) : notRegularFile(target);
    }
    await streamFile(res, handle, target, stats.size);
  });
}

/** Streams the already opened and verified file; closes the handle. */
async function streamFile(res: ServerResponse, handle: FileHandle, target: ResolvedPath, size: number): Promise<void> {
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': size,
    'Content-Disposition': `attachment; filename="${basename(target.sandboxPath).replace(/["\\\r\n]/g, '_')}"`,
  });
  if (size === 0) {
    await handle.close();
    res.end();
    return;
  }
  // Exactly the size announced in Content-Length, even if the sandbox appends meanwhile.
  await pipeline(handle.createReadStream({ start: 0, end: size - 1 }), res).catch(() => res.destroy());
}

/** Reads at most `size` bytes (fewer if the file shrank since fstat). */
async function readUpTo(handle: FileHandle, size: number): Promise<Buffer> {
  const buffer = Buffer.alloc(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/**
 * The upload's temp file, given its final mode and owner through its own fd before any byte.
 * close() is idempotent (it ends an aborted upload's stream, which owns and closes the fd).
 */
async function fileSink(path: string, owner: Owner | null, count: (n: number) => void): Promise<PartSink & { close(): Promise<void> }> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.chmod(0o644);
    if (owner) await handle.chown(owner.uid, owner.gid);
  } catch (err) {
    await handle.close();
    throw err;
  }
  const out = handle.createWriteStream();
  const closed = new Promise<void>((r) => out.once('close', () => r()));
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  return {
    async write(chunk) {
      count(chunk.length);
      if (!out.write(chunk)) await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), failed]);
    },
    async end() {
      out.end();
      await Promise.race([closed, failed]);
    },
    async close() {
      if (!out.closed) out.destroy();
      await closed;
    },
  };
}

function textSink(done: (text: string) => void): PartSink {
  const chunks: Buffer[] = [];
  let total = 0;
  return {
    write(chunk) {
      total += chunk.length;
      if (total > 64 * 1024) return Promise.reject(new ApiError(400, 'INVALID_REQUEST', 'Multipart text fields are limited to 64 KiB'));
      chunks.push(chunk);
      return Promise.resolve();
    },
    end() {
      done(Buffer.concat(chunks).toString('utf8').trim());
      return Promise.resolve();
    },
  };
}

export async function resolveSandboxPath(ctx: AgentContext, path: string): Promise<ResolvedPath> {
  if (!path.startsWith('/')) {
    throw new ApiError(400, 'INVALID_PATH', `Path must be absolute, e.g. /workspace/${path.replace(/^\.?\/*/, '')}`, { path });
  }
  // The sandbox may change the path while the runtime walks it (a link replaced between lstat and
  // readlink gives EINVAL/ENOENT): walk again a few times, then say so instead of a 500.
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.sandbox.runtime.resolvePath(path);
    } catch (err) {
      if (err instanceof SandboxPathError) {
        const status = err.code === 'PATH_NOT_ALLOWED' ? 403 : 400;
        throw new ApiError(status, err.code, err.message, { path });
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (!code || !['EINVAL', 'ENOENT', 'ENOTDIR', 'ELOOP'].includes(code)) throw err;
      if (attempt >= 3) {
        throw new ApiError(409, 'FILE_OPERATION_FAILED', `${path} kept changing while it was resolved (${code}); retry when the sandbox stops changing it`, {
          path,
        });
      }
    }
  }
}

function queryPath(url: URL): string {
  const path = url.searchParams.get('path');
  if (!path) throw missingParameter('path', 'pass ?path=/workspace/...');
  return path;
}

function isDirectory(target: ResolvedPath): ApiError {
  return new ApiError(400, 'INVALID_PATH', `Is a directory: ${target.sandboxPath}`, { path: target.sandboxPath });
}

function notRegularFile(target: ResolvedPath): ApiError {
  return new ApiError(400, 'INVALID_PATH', `Not a regular file (a FIFO, socket or device): ${target.sandboxPath}`, { path: target.sandboxPath });
}

/** Errno → the agent's error codes; anything unexpected is rethrown (→ 500, logged). */
function fsError(err: unknown, target: ResolvedPath, missingCode: string): unknown {
  if (err instanceof ApiError) return err;
  const path = target.sandboxPath;
  if (err instanceof ConfinementError) {
    return new ApiError(403, 'PATH_NOT_ALLOWED', `Path not allowed: ${path} leads outside the sandbox's files (${err.message})`, { path });
  }
  const code = (err as NodeJS.ErrnoException).code;
  const final = (err as { final?: boolean }).final === true;
  switch (code) {
    case 'ENOENT':
      return new ApiError(404, missingCode, `${missingCode === 'DIRECTORY_NOT_FOUND' ? 'Directory' : 'File'} not found: ${path}`, { path });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ApiError(403, 'PERMISSION_DENIED', `Permission denied: ${path}`, { path });
    case 'EISDIR':
      return isDirectory(target);
    case 'ENOTDIR':
      return new ApiError(400, 'INVALID_PATH', final ? `Not a directory: ${path}` : `A parent of ${path} is not a directory`, { path });
    case 'ENOTREG':
      return notRegularFile(target);
    case 'ELOOP':
      return new ApiError(403, 'PATH_NOT_ALLOWED', `Path not allowed: ${path} goes through a symbolic link that changed`, { path });
    case 'EEXIST':
      return new ApiError(409, 'FILE_ALREADY_EXISTS', `Already exists: ${path}`, { path });
    case 'ENOSPC':
    case 'EDQUOT':
      return new ApiError(507, 'FILE_OPERATION_FAILED', `No space left for ${path}`, { path });
    default:
      return err;
  }
}

function parseMode(value: unknown): number {
  if (value === undefined || value === null) return 0o644;
  const text = typeof value === 'number' ? value.toString(8) : value;
  if (typeof text !== 'string' || !/^0?[0-7]{3,4}$/.test(text)) throw invalidField('mode', 'must be an octal string such as "0644"');
  return parseInt(text, 8) & 0o7777;
}

function fileResponse(message: string, target: ResolvedPath, size: number): Record<string, unknown> {
  return { success: true, message, path: target.sandboxPath, size, timestamp: nowIso() };
}

/** Both spellings of every FileInfo field (docs/hopx-wire.md §5.7). */
function fileInfo(name: string, path: string, st: Stats): Record<string, unknown> {
  const isDir = st.isDirectory();
  const modified = st.mtime.toISOString();
  return {
    name,
    path,
    size: st.size,
    is_directory: isDir,
    is_dir: isDir,
    is_file: st.isFile(),
    is_symlink: st.isSymbolicLink(),
    type: isDir ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'file',
    modified_time: modified,
    modified,
    permissions: permissionString(st),
    mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
  };
}

function permissionString(st: Stats): string {
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : '-';
  const bits = 'rwxrwxrwx';
  let out = type;
  for (let i = 0; i < 9; i++) out += st.mode & (1 << (8 - i)) ? bits[i] : '-';
  return out;
}
