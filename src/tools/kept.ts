/**
 * Keeping the whole of an output that a result cuts: in the sandbox's own filesystem (under
 * KEPT_OUTPUT_DIR), written through the agent's file API, so it works on HopX cloud and the local
 * backend alike and no server memory holds it. The result names the path; sandbox_read_file pages
 * through it, and the hopx:// output resource serves it to clients that read resources.
 */
import { randomBytes } from 'node:crypto';
import type { ContentBlock } from '@modelcontextprotocol/server';
import { KEPT_OUTPUT_DIR, keptOutputUri } from '../conversation/uris.js';
import type { KeptOutput } from '../client/types.js';
import { cutMiddle } from '../text/cut.js';
import { allocate } from './result.js';
import type { SandboxToolContext } from './tool.js';

/** Said after the path in cut markers. */
const PAGING_HINT = 'read it in pages with sandbox_read_file start_line';

export interface Kept {
  path: string;
  uri: string;
}

/** File name part for a label: "stdout of proc_1" → "stdout-of-proc_1". */
function slug(label: string): string {
  return label.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+/, '').slice(0, 60) || 'output';
}

/**
 * Writes one output to `/tmp/hopx-outputs/out-<random>.<label>.<ext>`. A failed write (sandbox
 * gone, disk full) is logged and returns null: the cut result is still answered, saying the whole
 * was not kept.
 */
export async function keepInSandbox(ctx: SandboxToolContext, o: { label: string; ext: string; data: string | Buffer }): Promise<Kept | null> {
  const name = slug(o.label);
  // "out-….html", not "out-….html.html".
  const path = `${KEPT_OUTPUT_DIR}/out-${randomBytes(6).toString('hex')}${name === o.ext ? '' : `.${name}`}.${o.ext}`;
  try {
    if (typeof o.data === 'string') await ctx.agent.files.write(path, o.data, { overwrite: true }, ctx.call);
    else await ctx.agent.files.writeBytes(path, o.data, { overwrite: true }, ctx.call);
  } catch (err) {
    ctx.logger.warn({ sandbox_id: ctx.sandboxId, label: o.label, err: String(err) }, 'could not keep a cut output in the sandbox');
    return null;
  }
  return { path, uri: keptOutputUri(ctx.sandboxId, path) };
}

/** A resource link to a kept output, for clients that read resources. */
export function keptLink(ctx: SandboxToolContext, kept: { path: string }, label: string, mimeType = 'text/plain'): ContentBlock {
  return {
    type: 'resource_link',
    uri: keptOutputUri(ctx.sandboxId, kept.path),
    name: kept.path.split('/').pop() ?? kept.path,
    mimeType,
    description: `Whole ${label}`,
  };
}

export interface FittedStream {
  name: string;
  text: string;
  truncated: boolean;
  /** Sandbox path of the whole stream, when it was cut and kept. */
  fullPath: string | null;
}

/**
 * Fits several outputs (stdout, stderr, ...) into one budget: small streams whole, the rest share
 * what is left evenly. A cut stream is kept whole in the sandbox (or already was, by the agent:
 * `kept`), and its marker names that path.
 */
export async function fitStreams(
  ctx: SandboxToolContext,
  streams: { name: string; text: string; kept?: KeptOutput }[],
  budgetChars: number,
): Promise<FittedStream[]> {
  const allowance = allocate(
    streams.map((s) => s.text.length),
    budgetChars,
  );
  return Promise.all(
    streams.map(async (s, i) => {
      if (s.text.length <= allowance[i]) {
        // Text the agent already cut fits as it is; its own marker names the whole.
        return { name: s.name, text: s.text, truncated: s.kept !== undefined, fullPath: s.kept?.path ?? null };
      }
      // Text the agent cut is not the whole: it is kept only where the agent kept it (if anywhere).
      const path = s.kept ? s.kept.path : ((await keepInSandbox(ctx, { label: s.name, ext: 'txt', data: s.text }))?.path ?? null);
      const whole = s.kept ? { bytes: s.kept.bytes, lines: s.kept.lines } : undefined;
      const cut = cutMiddle(s.text, { maxChars: allowance[i] }, { label: s.name, where: path, hint: path ? PAGING_HINT : undefined }, whole);
      return { name: s.name, text: cut.text, truncated: true, fullPath: path };
    }),
  );
}
