/**
 * Rich outputs (Jupyter-style bundles from run_code) → MCP content a model can use: images as
 * image content within a byte budget (the rest as resource links to the full image), HTML tables
 * as compact text tables, JSON and other text summarized. Base64 never goes into a text block.
 */
import { z } from 'zod';
import type { ContentBlock } from '@modelcontextprotocol/server';
import type { MimeBundle, RichOutput } from '../client/types.js';
import { cutMiddle } from '../text/cut.js';
import { keepInSandbox, keptLink } from './kept.js';
import type { SandboxToolContext } from './tool.js';

export const RichOutputSummary = z.object({
  mime_type: z.string(),
  summary: z.string().describe('Short text description or rendering'),
  inline: z.boolean().describe('Whether the content itself is in this result (images: as image content)'),
  resource_uri: z.string().nullable().describe('hopx:// resource with the full content, when kept aside'),
  full_path: z.string().nullable().describe('Sandbox file with the full content, when kept aside'),
});
export type RichOutputSummary = z.infer<typeof RichOutputSummary>;

/** Image types MCP clients (and model APIs) accept as image content. */
export const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Whether `b` starts like an image of that type (an extension alone can lie). */
export function looksLikeImage(b: Buffer, mimeType: string): boolean {
  switch (mimeType) {
    case 'image/png':
      return b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    case 'image/jpeg':
      return b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
    case 'image/gif':
      return b.subarray(0, 4).toString('latin1') === 'GIF8';
    case 'image/webp':
      return b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP';
    default:
      return false;
  }
}
const SUMMARY_CHARS = 2_000;

/** Which representation of a bundle is shown, best first. */
const PREFERENCE = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml', 'text/html', 'text/markdown', 'application/json', 'text/latex', 'text/plain'];

function rank(mime: string): number {
  const i = PREFERENCE.indexOf(mime.toLowerCase());
  if (i >= 0) return i;
  return mime.endsWith('+json') ? PREFERENCE.indexOf('application/json') + 0.5 : PREFERENCE.length;
}

/** The representation shown for each bundle; `ofResult`: it renders the value whose text is `result`. */
function representations(bundles: MimeBundle[]): Array<RichOutput & { ofResult: boolean }> {
  return bundles.flatMap((b) => {
    const hasText = 'text/plain' in b.data;
    const candidates = Object.keys(b.data).filter((m) => !(b.kind === 'result' && m === 'text/plain'));
    if (candidates.length === 0) return [];
    const best = candidates.sort((x, y) => rank(x) - rank(y))[0];
    return [{ mimeType: best, data: b.data[best], ofResult: b.kind === 'result' && hasText }];
  });
}
const NOT_KEPT = { resource_uri: null, full_path: null };

/** File extension for a kept rich output, so its resource is served with the right MIME type. */
function extensionFor(mimeType: string): string {
  const known: Record<string, string> = {
    'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp', 'image/svg+xml': 'svg',
    'text/html': 'html', 'application/json': 'json', 'text/markdown': 'md', 'text/csv': 'csv',
  };
  return known[mimeType.toLowerCase()] ?? (mimeType.endsWith('+json') ? 'json' : 'txt');
}
const MAX_RICH_OUTPUTS = 10;

/**
 * Renders MIME bundles: one representation per bundle, the most useful one (an image over HTML
 * over text). The result bundle's text/plain is the run's `result`, shown by the caller; its other
 * representations are only shown when they add something (an image), not an HTML copy of the
 * same value. `textBudgetChars` bounds the text summaries together (each gets an equal share, at
 * most SUMMARY_CHARS): they are part of the result's text and structuredContent like stdout is.
 */
export async function renderRichOutputs(
  ctx: SandboxToolContext,
  bundles: MimeBundle[],
  imageBudgetChars: number,
  textBudgetChars = SUMMARY_CHARS * MAX_RICH_OUTPUTS,
): Promise<{ summaries: RichOutputSummary[]; content: ContentBlock[] }> {
  const outputs = representations(bundles);
  const summaries: RichOutputSummary[] = [];
  const content: ContentBlock[] = [];
  let imageBudget = imageBudgetChars;
  const summaryChars = Math.max(200, Math.min(SUMMARY_CHARS, Math.floor(textBudgetChars / Math.max(1, Math.min(outputs.length, MAX_RICH_OUTPUTS)))));

  /** Writes the output whole into the sandbox; where it went (both nulls when it could not be kept). */
  const keepAside = async (o: RichOutput, label: string, asBlob: boolean, link = true) => {
    const kept = await keepInSandbox(ctx, { label, ext: extensionFor(o.mimeType), data: asBlob ? Buffer.from(o.data, 'base64') : o.data });
    if (kept && link) content.push(keptLink(ctx, kept, `${label} output`, o.mimeType));
    return { resource_uri: kept?.uri ?? null, full_path: kept?.path ?? null };
  };

  for (let o of outputs.slice(0, MAX_RICH_OUTPUTS)) {
    const mime = o.mimeType.toLowerCase();
    if (INLINE_IMAGE_TYPES.has(mime)) {
      // Jupyter wraps base64 at 76 columns; image content wants it unbroken.
      o = { ...o, data: o.data.replace(/\s+/g, '') };
      const bytes = Math.floor((o.data.length * 3) / 4);
      if (o.data.length <= imageBudget) {
        imageBudget -= o.data.length;
        content.push({ type: 'image', data: o.data, mimeType: mime });
        summaries.push({ mime_type: mime, summary: `image (${formatBytes(bytes)}), shown as image content`, inline: true, resource_uri: null, full_path: null });
      } else {
        const kept = await keepAside(o, 'image', true);
        summaries.push({ mime_type: mime, summary: `image (${formatBytes(bytes)}) too large to show inline${kept.full_path ? `; kept at ${kept.full_path}` : ''}`, inline: false, ...kept });
      }
    } else if (mime === 'image/svg+xml') {
      const kept = await keepAside(o, 'svg', false);
      summaries.push({ mime_type: mime, summary: `SVG image (${formatBytes(Buffer.byteLength(o.data))})${kept.full_path ? `, kept at ${kept.full_path}` : ''}`, inline: false, ...kept });
    } else if (mime === 'text/html' && o.ofResult) {
      // A DataFrame value is one bundle of text/plain (the result) and text/html: one table.
      const kept = await keepAside(o, 'html', false, false);
      summaries.push({ mime_type: mime, summary: 'HTML rendering of the result above', inline: false, ...kept });
    } else if (mime === 'text/html') {
      const text = htmlToText(o.data);
      const kept = text.length > summaryChars || o.data.length > summaryChars ? await keepAside(o, 'html', false) : NOT_KEPT;
      const cut = cutMiddle(text, { maxChars: summaryChars }, { label: 'HTML text', where: kept.full_path });
      summaries.push({ mime_type: mime, summary: cut.text, inline: kept.full_path === null, ...kept });
    } else if (mime === 'application/json' || mime.endsWith('+json')) {
      const text = prettyJson(o.data);
      const kept = text.length > summaryChars ? await keepAside(o, 'json', false) : NOT_KEPT;
      const cut = cutMiddle(text, { maxChars: summaryChars }, { label: 'JSON', where: kept.full_path });
      summaries.push({ mime_type: mime, summary: cut.text, inline: kept.full_path === null, ...kept });
    } else if (mime.startsWith('text/')) {
      const kept = o.data.length > summaryChars ? await keepAside(o, 'text', false) : NOT_KEPT;
      const cut = cutMiddle(o.data, { maxChars: summaryChars }, { label: mime, where: kept.full_path });
      summaries.push({ mime_type: mime, summary: cut.text, inline: kept.full_path === null, ...kept });
    } else {
      const kept = await keepAside(o, 'output', false);
      summaries.push({ mime_type: mime, summary: `${mime} output (${formatBytes(o.data.length)})${kept.full_path ? `, kept at ${kept.full_path}` : ''}`, inline: false, ...kept });
    }
  }
  if (outputs.length > MAX_RICH_OUTPUTS) {
    summaries.push({ mime_type: 'text/plain', summary: `${outputs.length - MAX_RICH_OUTPUTS} more rich outputs omitted`, inline: false, ...NOT_KEPT });
  }
  return { summaries, content };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}

function prettyJson(data: string): string {
  try {
    return JSON.stringify(JSON.parse(data), null, 1);
  } catch {
    return data;
  }
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&nbsp;': ' ' };

function decode(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (m) => ENTITIES[m] ?? m);
}

/**
 * HTML → plain text. Tables (pandas DataFrames) become tab-separated rows, which models read
 * well; everything else loses its tags. Scripts and styles are dropped.
 */
export function htmlToText(html: string): string {
  const noScript = html.replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, '');
  const withRows = noScript
    .replace(/<\/t[hd]>\s*/gi, '\t')
    .replace(/<\/tr>/gi, '\n')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li)>/gi, '\n');
  const text = decode(withRows.replace(/<[^>]+>/g, ''));
  return text
    .split('\n')
    .map((l) => l.replace(/[ \t]+$/, '').replace(/^\s+/, (m) => (m.includes('\t') ? m : '')))
    .filter((l) => l.trim() !== '')
    .join('\n');
}
