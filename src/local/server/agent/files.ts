/**
 * /files/*: host-side operations on the sandbox's directories, through the runtime's path
 * confinement (resolvePath). Upload and download stream; nothing holds a whole file in memory
 * except /files/read and /files/write, whose JSON bodies are capped.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, readFile, readdir, rename, rm, stat, unlink, writeFile, copyFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { SandboxPathError } from '../../runtime/errors.js';
import type { ResolvedPath } from '../../runtime/types.js';
import { ApiError, invalidField, missingParameter } from '../errors.js';
import { type Router, nowIso, readJsonBody, sendJson } from '../http.js';
import type { AgentContext } from './context.js';
import { boundaryOf, parseMultipart, type PartSink } from './multipart.js';
import { giveTo, mkdirOwned, sandboxOwner } from './ownership.js';

/** /files/read returns at most this much; larger files go through /files/download. */
export const MAX_READ_BYTES = 32 * 1024 * 1024;
const ROOTS = new Set(['/', '/workspace', '/root', '/tmp']);

export function registerFileRoutes(router: Router, ctx: AgentContext): void {
  const resolve = (path: string) => resolveSandboxPath(ctx, path);
  const owner = () => sandboxOwner(ctx.sandbox.runtime.dirs.workspace);

  router.add('GET', '/files/read', async ({ res, url }) => {
    const target = await resolve(queryPath(url));
    const st = await statOrThrow(target, 'FILE_NOT_FOUND');
    if (st.isDirectory()) throw isDirectory(target);
    if (st.size > MAX_READ_BYTES) {
      throw new ApiError(400, 'INVALID_REQUEST', `File is ${st.size} bytes; /files/read returns at most ${MAX_READ_BYTES}. Use GET /files/download`, {
        path: target.sandboxPath,
      });
    }
    const data = await readFile(target.hostPath).catch((err) => {
      throw fsError(err, target, 'FILE_NOT_FOUND');
    });
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
    const own = await owner();
    const existing = await lstat(target.hostPath).catch(() => null);
    if (existing?.isDirectory()) throw isDirectory(target);
    if (existing && !overwrite) {
      throw new ApiError(409, 'FILE_ALREADY_EXISTS', `File already exists: ${target.sandboxPath} (send "overwrite": true to replace it)`, {
        path: target.sandboxPath,
      });
    }
    try {
      await mkdirOwned(own, dirname(target.hostPath));
      await writeFile(target.hostPath, data, { mode });
      await chmod(target.hostPath, mode);
      await giveTo(own, target.hostPath);
    } catch (err) {
      throw fsError(err, target, 'DIRECTORY_NOT_FOUND');
    }
    sendJson(res, 200, fileResponse('File written successfully', target, data.length));
  });

  router.add('GET', '/files/list', async ({ res, url }) => {
    const target = await resolve(url.searchParams.get('path') || '/workspace');
    const st = await statOrThrow(target, 'DIRECTORY_NOT_FOUND');
    if (!st.isDirectory()) throw new ApiError(400, 'INVALID_PATH', `Not a directory: ${target.sandboxPath}`, { path: target.sandboxPath });
    const names = await readdir(target.hostPath).catch((err) => {
      throw fsError(err, target, 'DIRECTORY_NOT_FOUND');
    });
    const files = [];
    for (const name of names.sort()) {
      const entry = await lstat(`${target.hostPath}/${name}`).catch(() => null);
      if (entry) files.push(fileInfo(name, posix.join(target.sandboxPath, name), entry));
    }
    sendJson(res, 200, { files, count: files.length, path: target.sandboxPath });
  });

  router.add('GET', '/files/exists', async ({ res, url }) => {
    const target = await resolve(queryPath(url));
    const st = await stat(target.hostPath).catch(() => null);
    sendJson(res, 200, { exists: st !== null, path: target.sandboxPath, is_directory: st?.isDirectory() ?? false });
  });

  router.add('DELETE', '/files/remove', async ({ res, url }) => {
    const target = await resolve(queryPath(url));
    if (ROOTS.has(target.sandboxPath)) {
      throw new ApiError(403, 'PATH_NOT_ALLOWED', `Refusing to remove ${target.sandboxPath} itself; remove its contents instead`, {
        path: target.sandboxPath,
      });
    }
    await lstatOrThrow(target, 'FILE_NOT_FOUND');
    await rm(target.hostPath, { recursive: true, force: true });
    sendJson(res, 200, fileResponse('File removed successfully', target, 0));
  });

  router.add('POST', '/files/mkdir', async ({ req, res }) => {
    const body = await readJsonBody(req);
    if (typeof body.path !== 'string' || !body.path) throw missingParameter('path', 'absolute sandbox path, e.g. /workspace/data');
    const target = await resolve(body.path);
    try {
      await mkdirOwned(await owner(), target.hostPath);
    } catch (err) {
      throw fsError(err, target, 'DIRECTORY_NOT_FOUND');
    }
    sendJson(res, 200, fileResponse('Directory created successfully', target, 0));
  });

  router.add('POST', '/files/upload', async ({ req, res, url }) => {
    const boundary = boundaryOf(req.headers['content-type']);
    const tmp = `${ctx.sandbox.runtime.dirs.run}/upload-${randomBytes(6).toString('hex')}`;
    let destination = url.searchParams.get('path');
    let filename: string | null = null;
    let size = 0;
    let sawFile = false;
    try {
      await parseMultipart(req, boundary, async (part): Promise<PartSink> => {
        if (part.name === 'file' || (part.filename !== null && !sawFile)) {
          if (sawFile) throw new ApiError(400, 'INVALID_REQUEST', 'Only one "file" part per upload');
          sawFile = true;
          filename = part.filename;
          return fileSink(tmp, (n) => (size += n));
        }
        return textSink((text) => {
          if (part.name === 'path') destination = text;
        });
      });
      if (!sawFile) throw new ApiError(400, 'MISSING_PARAMETER', 'Missing multipart part "file"', { details: { missing_field: 'file' } });
      const fallbackName = basename(filename ?? '') || 'upload.bin';
      const target = await resolve(destination || `/workspace/${fallbackName}`);
      const existing = await stat(target.hostPath).catch(() => null);
      if (existing?.isDirectory()) throw isDirectory(target);
      const own = await owner();
      try {
        await mkdirOwned(own, dirname(target.hostPath));
        await moveInto(tmp, target.hostPath);
        await chmod(target.hostPath, 0o644);
        await giveTo(own, target.hostPath);
      } catch (err) {
        throw fsError(err, target, 'DIRECTORY_NOT_FOUND');
      }
      sendJson(res, 200, fileResponse('File uploaded successfully', target, size));
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  });

  router.add('GET', '/files/download', async ({ res, url }) => {
    const target = await resolve(queryPath(url));
    const st = await statOrThrow(target, 'FILE_NOT_FOUND');
    if (st.isDirectory()) throw isDirectory(target);
    await streamFile(res, target, st.size);
  });
}

async function streamFile(res: ServerResponse, target: ResolvedPath, size: number): Promise<void> {
  const stream = createReadStream(target.hostPath);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  }).catch((err) => {
    throw fsError(err, target, 'FILE_NOT_FOUND');
  });
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': size,
    'Content-Disposition': `attachment; filename="${basename(target.sandboxPath).replace(/["\\\r\n]/g, '_')}"`,
  });
  await pipeline(stream, res).catch(() => res.destroy());
}

function fileSink(path: string, count: (n: number) => void): PartSink {
  const out = createWriteStream(path, { mode: 0o600 });
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  return {
    async write(chunk) {
      count(chunk.length);
      if (!out.write(chunk)) await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), failed]);
    },
    async end() {
      await Promise.race([new Promise<void>((r) => out.end(() => r())), failed]);
    },
  };
}

function textSink(done: (text: string) => void): PartSink {
  const chunks: Buffer[] = [];
  let total = 0;
  return {
    async write(chunk) {
      total += chunk.length;
      if (total > 64 * 1024) throw new ApiError(400, 'INVALID_REQUEST', 'Multipart text fields are limited to 64 KiB');
      chunks.push(chunk);
    },
    async end() {
      done(Buffer.concat(chunks).toString('utf8').trim());
    },
  };
}

async function moveInto(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(from, to);
  }
}

export async function resolveSandboxPath(ctx: AgentContext, path: string): Promise<ResolvedPath> {
  if (!path.startsWith('/')) {
    throw new ApiError(400, 'INVALID_PATH', `Path must be absolute, e.g. /workspace/${path.replace(/^\.?\/*/, '')}`, { path });
  }
  try {
    return await ctx.sandbox.runtime.resolvePath(path);
  } catch (err) {
    if (err instanceof SandboxPathError) {
      const status = err.code === 'PATH_NOT_ALLOWED' ? 403 : 400;
      return Promise.reject(new ApiError(status, err.code, err.message, { path }));
    }
    throw err;
  }
}

function queryPath(url: URL): string {
  const path = url.searchParams.get('path');
  if (!path) throw missingParameter('path', 'pass ?path=/workspace/...');
  return path;
}

async function statOrThrow(target: ResolvedPath, missingCode: string): Promise<Stats> {
  return stat(target.hostPath).catch((err) => {
    throw fsError(err, target, missingCode);
  });
}

async function lstatOrThrow(target: ResolvedPath, missingCode: string): Promise<Stats> {
  return lstat(target.hostPath).catch((err) => {
    throw fsError(err, target, missingCode);
  });
}

function isDirectory(target: ResolvedPath): ApiError {
  return new ApiError(400, 'INVALID_PATH', `Is a directory: ${target.sandboxPath}`, { path: target.sandboxPath });
}

/** Errno → the agent's error codes; anything unexpected is rethrown (→ 500, logged). */
function fsError(err: unknown, target: ResolvedPath, missingCode: string): unknown {
  if (err instanceof ApiError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const path = target.sandboxPath;
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
      return new ApiError(400, 'INVALID_PATH', `A parent of ${path} is not a directory`, { path });
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

/** Both spellings of every FileInfo field (hopx-api.md §5.7). */
export function fileInfo(name: string, path: string, st: Stats): Record<string, unknown> {
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
