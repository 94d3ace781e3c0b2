import { z } from 'zod';
import { ConflictError, FileNotFoundError } from '../client/errors.js';
import { ToolInputError } from '../errors.js';
import { fileUri } from '../conversation/uris.js';
import { looksLikeText, mimeTypeFor } from '../views/file-content.js';
import { defineSandboxTool, type ToolDefinition } from './tool.js';
import { cutMiddle, joinCut, type CutNote } from '../text/cut.js';
import { readBounded, trimUtf8End, trimUtf8Start } from '../views/bounded-read.js';
import { formatBytes, INLINE_IMAGE_TYPES, looksLikeImage } from './rich.js';
import { fitList } from './result.js';
import { filePath, inTheSandbox } from './params.js';

const ENCODING = z.enum(['text', 'base64']).default('text').describe('"base64" for binary files.');

const MAX_LISTED_FILES = 500;
const DEFAULT_PAGE_LINES = 200;
const MAX_PAGE_LINES = 100_000;

interface LinePage {
  /** The lines, each with its own line end: pages joined in order give the file back. */
  text: string;
  lines: number;
  /** More of the file follows. */
  more: boolean;
  /** A line longer than the budget was cut (src/text/cut.ts). */
  cutLine: boolean;
  /** The bytes read were not UTF-8 text. */
  binary: boolean;
}

/**
 * Reads lines [from, from + count) of a stream, at most `budget` characters of them (a single
 * longer line is cut), and stops reading there: a page costs what lies before it, never the rest
 * of the file, and holds at most one page in memory.
 */
async function readLines(stream: AsyncIterable<Uint8Array>, from: number, count: number, budget: number, note: CutNote): Promise<LinePage> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const iterator = stream[Symbol.asyncIterator]();
  let line = 1;
  let pending = '';
  const kept: string[] = [];
  let chars = 0;
  let cutLine = false;
  let more = false;
  /** Bytes already dropped from the middle of the line being read (a line far over the budget). */
  let droppedBytes = 0;
  let done = false;
  try {
    while (!done) {
      const next = await iterator.next();
      if (next.done) {
        done = true;
        pending += decoder.decode();
      } else {
        pending += decoder.decode(next.value, { stream: true });
      }
      // Whole lines (and, at the end, the last line without a line end).
      let start = 0;
      for (;;) {
        const nl = pending.indexOf('\n', start);
        if (nl < 0 && !(done && start < pending.length)) break;
        const end = nl < 0 ? pending.length : nl + 1;
        if (line >= from) {
          if (kept.length >= count) {
            more = true;
            break;
          }
          let text = pending.slice(start, end);
          if (chars + text.length > budget) {
            if (kept.length > 0) {
              more = true;
              break;
            }
            const whole = { bytes: Buffer.byteLength(text) + droppedBytes, lines: text.endsWith('\n') ? 1 : 0 };
            text = cutMiddle(text, { maxChars: budget }, { ...note, label: `line ${line}` }, whole).text;
            cutLine = true;
          }
          kept.push(text);
          chars += text.length;
        }
        line++;
        start = end;
        droppedBytes = 0;
      }
      pending = pending.slice(start);
      if (more) break;
      // A line still being read that already passes the budget: keep its head and tail only.
      if (line >= from && pending.length > 2 * budget + 65_536) {
        droppedBytes += Buffer.byteLength(pending.slice(budget, -budget));
        pending = pending.slice(0, budget) + pending.slice(-budget);
      }
      if (kept.length >= count) {
        // The page is full: is there anything after it?
        more = pending.length > 0 || (!done && !(await iterator.next()).done);
        break;
      }
    }
  } catch (err) {
    // Not UTF-8: what was read before it is still a page.
    if (!(err instanceof TypeError)) throw err;
    return { text: kept.join(''), lines: kept.length, more: false, cutLine, binary: true };
  } finally {
    await iterator.return?.();
  }
  return { text: kept.join(''), lines: kept.length, more, cutLine, binary: false };
}

const sandboxReadFile = defineSandboxTool({
  name: 'sandbox_read_file',
  title: 'Read file',
  description: (backend) =>
    `Read a file ${inTheSandbox(backend)}; PNG, JPEG, GIF and WebP come back as images. ` +
    'Large files are cut (head and tail kept); start_line and line_count read a page of lines (of a large file or a kept output).',
  toolset: 'files',
  kind: 'read',
  input: (backend) =>
    z.strictObject({
      path: filePath(backend),
      encoding: ENCODING,
      start_line: z.number().int().min(1).optional().describe('1 = the first line; the result gives next_start_line.'),
      line_count: z.number().int().min(1).max(MAX_PAGE_LINES).optional().describe(`Default ${DEFAULT_PAGE_LINES}; a page also stops at the output budget.`),
    }),
  output: z.object({
    sandbox_id: z.string(),
    path: z.string(),
    encoding: z.enum(['text', 'base64']),
    mime_type: z.string(),
    size_bytes: z.number().nullable().describe('null for a page of lines'),
    content: z.string().nullable().describe('null: too large, or shown as an image'),
    truncated: z.boolean(),
    resource_uri: z.string(),
    start_line: z.number().nullable(),
    end_line: z.number().nullable(),
    next_start_line: z.number().nullable().describe('null at the end of the file'),
  }),
  async handle(ctx, args) {
    const mimeType = mimeTypeFor(args.path);
    const uri = fileUri(ctx.sandboxId, args.path);
    const budget = ctx.budget.textChars;
    const base = { sandbox_id: ctx.sandboxId, path: args.path, encoding: args.encoding, mime_type: mimeType, resource_uri: uri, start_line: null, end_line: null, next_start_line: null };
    if ((args.start_line !== undefined || args.line_count !== undefined) && args.encoding === 'base64') {
      throw new ToolInputError('start_line and line_count read text lines; drop "encoding": "base64" (or drop them to read the file as base64).', 'encoding');
    }
    const stream = await ctx.agent.files.download(args.path, ctx.call);
    if (args.start_line !== undefined || args.line_count !== undefined) {
      const from = args.start_line ?? 1;
      const page = await readLines(stream, from, args.line_count ?? DEFAULT_PAGE_LINES, budget, { label: `line`, where: null });
      if (page.lines === 0 && page.binary) {
        throw new ToolInputError(`"${args.path}" is a binary file; read it with "encoding": "base64".`, 'encoding');
      }
      const range = page.lines === 0 ? `no line ${from}: the file has fewer lines` : `lines ${from}–${from + page.lines - 1}`;
      const next = page.more ? `; next page: start_line ${from + page.lines}` : '; end of file';
      return {
        text: `${args.path}, ${range}${page.lines === 0 ? '' : next} (sandbox ${ctx.sandboxId}):\n${page.text}`,
        structured: {
          ...base,
          size_bytes: null,
          content: page.text,
          truncated: page.cutLine,
          start_line: page.lines === 0 ? null : from,
          end_line: page.lines === 0 ? null : from + page.lines - 1,
          next_start_line: page.more ? from + page.lines : null,
        },
      };
    }

    if (args.encoding === 'text' && INLINE_IMAGE_TYPES.has(mimeType)) {
      // An image is more use seen than as base64 text; base64 stays out of structuredContent.
      const read = await readBounded(stream, Math.floor((ctx.budget.imageChars * 3) / 4), 0);
      if (looksLikeImage(read.prefix, mimeType)) {
        const size = formatBytes(read.totalBytes);
        if (read.complete) {
          return {
            text: `${args.path} (${size}, ${mimeType}) in sandbox ${ctx.sandboxId}, shown as image content.`,
            content: [{ type: 'image', data: read.prefix.toString('base64'), mimeType }],
            structured: { ...base, encoding: 'base64' as const, size_bytes: read.totalBytes, content: null, truncated: false },
          };
        }
        return {
          text: `${args.path} is a ${size} image, too large to show here; read the resource ${uri} instead.`,
          content: [{ type: 'resource_link', uri, name: args.path, mimeType, description: `${size} image in sandbox ${ctx.sandboxId}` }],
          structured: { ...base, encoding: 'base64' as const, size_bytes: read.totalBytes, content: null, truncated: true },
        };
      }
      throw new ToolInputError(`"${args.path}" is named like ${mimeType} but is not one; read it with "encoding": "base64".`, 'path');
    }

    if (args.encoding === 'base64') {
      // Base64 grows by 4/3: only files that fit the budget once encoded are included.
      const read = await readBounded(stream, Math.floor((budget * 3) / 4), 0);
      if (!read.complete) {
        return {
          text: `${args.path} is ${formatBytes(read.totalBytes)}, too large to include as base64 here; read the resource ${uri} instead.`,
          content: [{ type: 'resource_link', uri, name: args.path, mimeType, description: `${formatBytes(read.totalBytes)} file in sandbox ${ctx.sandboxId}` }],
          structured: { ...base, size_bytes: read.totalBytes, content: null, truncated: true },
        };
      }
      const b64 = read.prefix.toString('base64');
      return {
        text: `${args.path} (${formatBytes(read.totalBytes)}, base64) in sandbox ${ctx.sandboxId}.`,
        content: [{ type: 'resource', resource: { uri, mimeType, blob: b64 } }],
        structured: { ...base, size_bytes: read.totalBytes, content: b64, truncated: false },
      };
    }

    const read = await readBounded(stream, budget, budget);
    if (!looksLikeText(read.prefix, mimeType)) {
      throw new ToolInputError(`"${args.path}" is a binary file (${formatBytes(read.totalBytes)}); read it with "encoding": "base64", or read the resource ${uri}.`, 'encoding');
    }
    const content = read.complete
      ? read.prefix.toString('utf8')
      : joinCut(
          trimUtf8End(read.prefix).toString('utf8'),
          trimUtf8Start(read.tail).toString('utf8'),
          { bytes: 0, lines: 0 },
          { maxChars: budget },
          { label: 'file', where: uri },
          { bytes: read.totalBytes, lines: read.lines },
        ).text;
    return {
      text: `${args.path} (${formatBytes(read.totalBytes)}${read.complete ? '' : ', cut to fit'}) in sandbox ${ctx.sandboxId}:\n${content}`,
      structured: { ...base, size_bytes: read.totalBytes, content, truncated: !read.complete },
    };
  },
});

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const sandboxWriteFile = defineSandboxTool({
  name: 'sandbox_write_file',
  title: 'Write file',
  description: (backend) => `Write a file ${inTheSandbox(backend)}, creating parent directories. Text, or base64 for binary.`,
  toolset: 'files',
  kind: 'write',
  idempotent: true,
  confirmation: true,
  input: (backend) => z.strictObject({
    path: filePath(backend),
    content: z.string().max(10_000_000).describe('UTF-8 text, or base64 with encoding "base64".'),
    encoding: ENCODING,
    mode: z.string().regex(/^0?[0-7]{3}$/, 'must be an octal permission string like "0644"').optional().describe('Octal, e.g. "0755". Default "0644".'),
    overwrite: z.boolean().default(true).describe('Replace an existing file.'),
  }),
  output: z.object({ sandbox_id: z.string(), path: z.string(), bytes_written: z.number(), resource_uri: z.string() }),
  async handle(ctx, args) {
    let data: string | Buffer = args.content;
    if (args.encoding === 'base64') {
      const compact = args.content.replace(/\s+/g, '');
      if (!BASE64.test(compact) || compact.length % 4 === 1) {
        throw new ToolInputError('"content" is not valid base64. Fix: send standard base64 (A-Z, a-z, 0-9, +, /, = padding), or use "encoding": "text" for plain text.', 'content');
      }
      data = Buffer.from(compact, 'base64');
    }
    const options = { mode: args.mode, overwrite: args.overwrite };
    try {
      if (typeof data === 'string') await ctx.agent.files.write(args.path, data, options, ctx.call);
      else await ctx.agent.files.writeBytes(args.path, data, options, ctx.call);
    } catch (err) {
      if (err instanceof ConflictError && !args.overwrite) {
        throw new ToolInputError(`${args.path} already exists in sandbox ${ctx.sandboxId}. Pass "overwrite": true to replace it, or choose another "path".`, 'overwrite');
      }
      throw err;
    }
    const bytes = Buffer.byteLength(data);
    const uri = fileUri(ctx.sandboxId, args.path);
    return { text: `Wrote ${formatBytes(bytes)} to ${args.path} in sandbox ${ctx.sandboxId}.`, structured: { sandbox_id: ctx.sandboxId, path: args.path, bytes_written: bytes, resource_uri: uri } };
  },
});

const FileEntry = z.object({
  name: z.string(),
  path: z.string(),
  size_bytes: z.number(),
  is_directory: z.boolean(),
  modified_time: z.string().nullable(),
});

const sandboxListFiles = defineSandboxTool({
  name: 'sandbox_list_files',
  title: 'List files',
  description: (backend) => `List a directory ${inTheSandbox(backend)}.`,
  toolset: 'files',
  kind: 'read',
  input: (backend) => z.strictObject({
    path: filePath(backend, '/workspace').default('/workspace'),
  }),
  output: z.object({ sandbox_id: z.string(), path: z.string(), entries: z.array(FileEntry), total: z.number(), truncated: z.boolean() }),
  async handle(ctx, args) {
    const all = await ctx.agent.files.list(args.path, ctx.call);
    const entries = fitList(
      all.map((f) => ({ name: f.name, path: f.path, size_bytes: f.size, is_directory: f.isDirectory, modified_time: f.modifiedTime })),
      ctx.budget.textChars,
      MAX_LISTED_FILES,
    );
    const lines = entries.map((e) => (e.is_directory ? `${e.name}/` : `${e.name}  (${formatBytes(e.size_bytes)})`));
    const more = all.length > entries.length ? `\n(${all.length - entries.length} more entries not shown)` : '';
    const text = entries.length === 0 ? `${args.path} is empty (sandbox ${ctx.sandboxId}).` : `${args.path} in sandbox ${ctx.sandboxId}:\n${lines.join('\n')}${more}`;
    return { text, structured: { sandbox_id: ctx.sandboxId, path: args.path, entries, total: all.length, truncated: all.length > entries.length } };
  },
});

const sandboxFileExists = defineSandboxTool({
  name: 'sandbox_file_exists',
  title: 'Check file exists',
  description: 'Check whether a file or directory exists in the sandbox.',
  toolset: 'files',
  kind: 'read',
  input: (backend) => z.strictObject({ path: filePath(backend) }),
  output: z.object({ sandbox_id: z.string(), path: z.string(), exists: z.boolean() }),
  async handle(ctx, args) {
    const exists = await ctx.agent.files.exists(args.path, ctx.call);
    return { text: `${args.path} ${exists ? 'exists' : 'does not exist'} in sandbox ${ctx.sandboxId}.`, structured: { sandbox_id: ctx.sandboxId, path: args.path, exists } };
  },
});

const sandboxRemoveFile = defineSandboxTool({
  name: 'sandbox_remove_file',
  title: 'Remove file',
  description: 'Delete a file or directory (recursively) in the sandbox. One already absent is not an error.',
  toolset: 'files',
  kind: 'destructive',
  idempotent: true,
  confirmation: true,
  input: (backend) => z.strictObject({ path: filePath(backend) }),
  output: z.object({ sandbox_id: z.string(), path: z.string(), removed: z.boolean() }),
  async handle(ctx, args) {
    let removed = true;
    try {
      await ctx.agent.files.remove(args.path, ctx.call);
    } catch (err) {
      if (!(err instanceof FileNotFoundError)) throw err;
      removed = false;
    }
    return {
      text: removed ? `Removed ${args.path} in sandbox ${ctx.sandboxId}.` : `${args.path} did not exist in sandbox ${ctx.sandboxId}; nothing to remove.`,
      structured: { sandbox_id: ctx.sandboxId, path: args.path, removed },
    };
  },
});

const sandboxMakeDir = defineSandboxTool({
  name: 'sandbox_make_dir',
  title: 'Make directory',
  description: 'Create a directory and its parents in the sandbox.',
  toolset: 'files',
  kind: 'write',
  idempotent: true,
  confirmation: true,
  input: (backend) => z.strictObject({ path: filePath(backend, '/workspace/out') }),
  output: z.object({ sandbox_id: z.string(), path: z.string() }),
  async handle(ctx, args) {
    await ctx.agent.files.mkdir(args.path, ctx.call);
    return { text: `Created directory ${args.path} in sandbox ${ctx.sandboxId}.`, structured: { sandbox_id: ctx.sandboxId, path: args.path } };
  },
});

const tools: ToolDefinition[] = [sandboxReadFile, sandboxWriteFile, sandboxListFiles, sandboxFileExists, sandboxRemoveFile, sandboxMakeDir];
export default tools;
