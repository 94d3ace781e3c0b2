/** A sandbox's files as resources: text when they read as text, else base64 blobs; watchable. */
import type { ReadResourceResult } from '@modelcontextprotocol/server';
import type { Conversation } from '../conversation/conversation.js';
import { fileUri, sandboxPathOf } from '../conversation/uris.js';
import { ResourceUnavailableError } from '../errors.js';
import { readAll } from '../views/bounded-read.js';
import { looksLikeText, mimeTypeFor } from '../views/file-content.js';
import { defineSandboxResource, INTERACTIVE_TIMEOUT_MS, MAX_COMPLETIONS, type ResourceDefinition, type SandboxResourceContext } from './resource.js';

/** Files larger than this are refused as resources (they would not fit any client anyway). */
const MAX_FILE_RESOURCE_BYTES = 20 * 1024 * 1024;

/** A sandbox file as resource contents under `href`: text when it reads as text, else a base64 blob. */
export async function readFileResource(ctx: SandboxResourceContext, path: string, href: string): Promise<ReadResourceResult> {
  const stream = await ctx.agent.files.download(path, { signal: ctx.signal });
  const bytes = await readAll(stream, MAX_FILE_RESOURCE_BYTES, () => new ResourceUnavailableError(
    `${path} is larger than the ${MAX_FILE_RESOURCE_BYTES / 1024 / 1024} MiB resource limit; read it in pages with sandbox_read_file (start_line, line_count), or split it in the sandbox.`,
  ));
  const mimeType = mimeTypeFor(path);
  if (!ctx.readOnly) ctx.conversation.noteActivity(ctx.sandboxId);
  if (looksLikeText(bytes, mimeType)) {
    return { contents: [{ uri: href, mimeType: mimeType === 'application/octet-stream' ? 'text/plain' : mimeType, text: bytes.toString('utf8') }] };
  }
  return { contents: [{ uri: href, mimeType, blob: bytes.toString('base64') }] };
}

/** Paths under the folder typed so far (`workspace/da` → `workspace/data/`, ...); none when the agent is slow. */
async function completePath(conversation: Conversation, value: string, filled: Readonly<Record<string, string>>): Promise<string[]> {
  const sandboxId = filled.sandbox_id || conversation.currentSandboxId;
  if (!sandboxId || !conversation.isAttached(sandboxId)) return [];
  const partial = value.replace(/^\/+/, '');
  const slash = partial.lastIndexOf('/');
  const dir = `/${partial.slice(0, slash + 1)}`;
  const prefix = partial.slice(slash + 1);
  try {
    const entries = await conversation.client.agent(sandboxId).files.list(dir === '/' ? '/workspace' : dir, { timeoutMs: INTERACTIVE_TIMEOUT_MS });
    const base = dir === '/' ? 'workspace/' : partial.slice(0, slash + 1);
    return entries
      .filter((e) => e.name.startsWith(prefix))
      .map((e) => `${base}${e.name}${e.isDirectory ? '/' : ''}`)
      .slice(0, MAX_COMPLETIONS);
  } catch {
    return [];
  }
}

const sandboxFile = defineSandboxResource({
  name: 'sandbox-file',
  uri: 'hopx://sandboxes/{sandbox_id}/files/{+path}',
  title: 'Sandbox file',
  description: "A file inside one of this conversation's sandboxes, as text or base64 blob",
  complete: { path: completePath },
  read: (ctx, { path }) => {
    const sandboxPath = sandboxPathOf(path);
    return readFileResource(ctx, sandboxPath, fileUri(ctx.sandboxId, sandboxPath));
  },
  // The agent's /files/watch on the file's folder; the root itself is not watched.
  watch: ({ sandbox_id, path }) => {
    const sandboxPath = sandboxPathOf(path);
    return sandboxPath === '/' ? null : { kind: 'file', sandboxId: sandbox_id, path: sandboxPath };
  },
});

const resources: ResourceDefinition[] = [sandboxFile];
export default resources;
