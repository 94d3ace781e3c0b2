/**
 * MCP resources: a sandbox's info, metrics and files, whole outputs that tool results had to cut
 * (kept in the sandbox),
 * and the template catalogue. Lists and completions show only this conversation's sandboxes, and
 * reads refuse sandboxes the conversation neither created nor connected.
 */
import { ResourceNotFoundError, ResourceTemplate, type McpServer, type ReadResourceResult } from '@modelcontextprotocol/server';
import type { Conversation } from '../conversation/conversation.js';
import { errorText, isNotFoundError, ResourceMissingError, ResourceUnavailableError } from '../errors.js';
import { readAll } from '../views/bounded-read.js';
import { summarize } from '../views/sandbox.js';
import { metricsView } from '../views/metrics.js';
import { looksLikeText, mimeTypeFor } from '../views/file-content.js';
import { fileUri, KEPT_OUTPUT_DIR, keptOutputPath, metricsUri, outputUri, pathFromUriVariable, processUri, sandboxUri } from '../conversation/uris.js';
import { requireScope, SCOPE_READ } from '../auth/scopes.js';

/** Files larger than this are refused as resources (they would not fit any client anyway). */
const MAX_FILE_RESOURCE_BYTES = 20 * 1024 * 1024;
const MAX_COMPLETIONS = 50;
const COMPLETION_TIMEOUT_MS = 5_000;
/** Reading any resource needs sandbox:read from OAuth callers (403 insufficient_scope otherwise). */
const READ_SCOPE = { scopeChallenge: requireScope(SCOPE_READ) };

/** One URI variable, percent-decoding undone. */
function one(v: string | string[] | undefined): string {
  const raw = Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Runs a read, turning errors into ones whose message says what to do next; a missing file,
 * sandbox or output is the protocol's "resource not found" (the SDK's ResourceNotFoundError:
 * -32602 with data.uri), not an internal error.
 */
async function guarded<T>(conversation: Conversation, uri: string, read: () => T | Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    conversation.logger.info({ uri, err: String(err) }, 'resource read failed');
    if (isNotFoundError(err)) throw new ResourceNotFoundError(uri, errorText(err));
    throw new Error(errorText(err), { cause: err });
  }
}

function json(uri: string, value: unknown): ReadResourceResult {
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
}

/** `readOnly`: reads must not extend sandbox leases (a PUT on HopX) either. */
export function registerResources(server: McpServer, conversation: Conversation, options: { readOnly: boolean }): void {
  const completeSandboxId = (value: string) =>
    conversation
      .attachedSandboxes()
      .map((s) => s.id)
      .filter((id) => id.startsWith(value))
      .slice(0, MAX_COMPLETIONS);
  const sandboxFor = (args: Record<string, string> | undefined) => args?.sandbox_id || conversation.currentSandboxId;

  /** A sandbox file as resource contents: text when it reads as text, else a base64 blob. */
  const readFileResource = async (sandboxId: string, path: string, href: string, signal: AbortSignal): Promise<ReadResourceResult> => {
    const stream = await conversation.client.agent(sandboxId).files.download(path, { signal });
    const bytes = await readAll(stream, MAX_FILE_RESOURCE_BYTES, () => new ResourceUnavailableError(
      `${path} is larger than the ${MAX_FILE_RESOURCE_BYTES / 1024 / 1024} MiB resource limit; read it in pages with sandbox_read_file (start_line, line_count), or split it in the sandbox.`,
    ));
    const mimeType = mimeTypeFor(path);
    if (!options.readOnly) conversation.noteActivity(sandboxId);
    if (looksLikeText(bytes, mimeType)) {
      return { contents: [{ uri: href, mimeType: mimeType === 'application/octet-stream' ? 'text/plain' : mimeType, text: bytes.toString('utf8') }] };
    }
    return { contents: [{ uri: href, mimeType, blob: bytes.toString('base64') }] };
  };

  server.registerResource(
    'templates',
    'hopx://templates',
    { title: 'Sandbox templates', description: 'Templates available to sandbox_create', mimeType: 'application/json', ...READ_SCOPE },
    async (uri, ctx) =>
      guarded(conversation, uri.href, async () => {
        const templates = await conversation.client.templates.list({}, { signal: ctx.mcpReq.signal });
        return json(uri.href, templates.map((t) => ({ id: t.id, name: t.name, display_name: t.displayName, description: t.description, language: t.language })));
      }),
  );

  server.registerResource(
    'sandbox-file',
    new ResourceTemplate('hopx://sandboxes/{sandbox_id}/files/{+path}', {
      list: undefined,
      complete: {
        sandbox_id: completeSandboxId,
        path: async (value, context) => {
          const sandboxId = sandboxFor(context?.arguments);
          if (!sandboxId || !conversation.isAttached(sandboxId)) return [];
          const partial = value.replace(/^\/+/, '');
          const slash = partial.lastIndexOf('/');
          const dir = `/${partial.slice(0, slash + 1)}`;
          const prefix = partial.slice(slash + 1);
          try {
            // Completion is typed interactively: a slow agent gets no suggestions rather than a stall.
            const entries = await conversation.client.agent(sandboxId).files.list(dir === '/' ? '/workspace' : dir, { timeoutMs: COMPLETION_TIMEOUT_MS });
            const base = dir === '/' ? 'workspace/' : partial.slice(0, slash + 1);
            return entries
              .filter((e) => e.name.startsWith(prefix))
              .map((e) => `${base}${e.name}${e.isDirectory ? '/' : ''}`)
              .slice(0, MAX_COMPLETIONS);
          } catch {
            return [];
          }
        },
      },
    }),
    { title: 'Sandbox file', description: 'A file inside one of this conversation\'s sandboxes, as text or base64 blob', ...READ_SCOPE },
    async (uri, variables, ctx) =>
      guarded(conversation, uri.href, async () => {
        const sandboxId = conversation.resolveSandbox(one(variables.sandbox_id));
        const path = pathFromUriVariable(variables.path ?? '');
        return readFileResource(sandboxId, path, fileUri(sandboxId, path), ctx.mcpReq.signal);
      }),
  );

  server.registerResource(
    'sandbox-metrics',
    new ResourceTemplate('hopx://sandboxes/{sandbox_id}/metrics', {
      list: () => ({
        resources: conversation.attachedSandboxes().map((s) => ({ uri: metricsUri(s.id), name: `metrics of ${s.id}`, mimeType: 'application/json' })),
      }),
      complete: { sandbox_id: completeSandboxId },
    }),
    { title: 'Sandbox metrics', description: 'CPU, memory, disk and process counts of a sandbox', mimeType: 'application/json', ...READ_SCOPE },
    async (uri, variables, ctx) =>
      guarded(conversation, uri.href, async () => {
        const sandboxId = conversation.resolveSandbox(one(variables.sandbox_id));
        return json(uri.href, metricsView(sandboxId, await conversation.client.agent(sandboxId).metrics({ signal: ctx.mcpReq.signal })));
      }),
  );

  server.registerResource(
    'sandbox-output',
    new ResourceTemplate('hopx://sandboxes/{sandbox_id}/outputs/{output_id}', {
      list: async (ctx) => {
        // Kept outputs live in each sandbox's KEPT_OUTPUT_DIR: list what is there now.
        const listed = await Promise.all(
          conversation.attachedSandboxes().map(async (s) => {
            const entries = await conversation.client
              .agent(s.id)
              .files.list(KEPT_OUTPUT_DIR, { signal: ctx.mcpReq.signal, timeoutMs: COMPLETION_TIMEOUT_MS })
              .catch(() => []);
            return entries
              .filter((e) => !e.isDirectory && keptOutputPath(e.name))
              .map((e) => ({
                uri: outputUri(s.id, e.name),
                name: e.name,
                mimeType: mimeTypeFor(e.name),
                description: `Whole output (${e.size} bytes) that a tool result cut, kept in sandbox ${s.id} at ${KEPT_OUTPUT_DIR}/${e.name}`,
              }));
          }),
        );
        return { resources: listed.flat() };
      },
      complete: { sandbox_id: completeSandboxId },
    }),
    { title: 'Whole tool output', description: `The whole output that a tool result cut to fit its budget, kept in the sandbox under ${KEPT_OUTPUT_DIR}`, ...READ_SCOPE },
    async (uri, variables, ctx) =>
      guarded(conversation, uri.href, async () => {
        const sandboxId = conversation.resolveSandbox(one(variables.sandbox_id));
        const outputId = one(variables.output_id);
        const path = keptOutputPath(outputId);
        if (!path) throw new ResourceMissingError(`"${outputId}" is not an output id; take one from a tool result or from resources/list.`);
        return readFileResource(sandboxId, path, outputUri(sandboxId, outputId), ctx.mcpReq.signal);
      }),
  );

  server.registerResource(
    'sandbox-process',
    new ResourceTemplate('hopx://sandboxes/{sandbox_id}/processes/{process_id}', {
      list: undefined,
      complete: { sandbox_id: completeSandboxId },
    }),
    {
      title: 'Background process',
      description: 'Status, exit code and latest output (head and tail) of a background process; subscribe to hear when they change',
      mimeType: 'application/json',
      ...READ_SCOPE,
    },
    async (uri, variables, ctx) =>
      guarded(conversation, uri.href, async () => {
        const sandboxId = conversation.resolveSandbox(one(variables.sandbox_id));
        const processId = one(variables.process_id);
        const p = (await conversation.client.agent(sandboxId).processes.list({ signal: ctx.mcpReq.signal })).find((x) => x.processId === processId);
        if (!p) throw new ResourceMissingError(`No background process "${processId}" in sandbox ${sandboxId}; sandbox_list_processes shows them.`);
        return json(processUri(sandboxId, processId), {
          process_id: p.processId,
          name: p.name,
          status: p.status,
          exit_code: p.exitCode,
          started_at: p.startedAt,
          ended_at: p.endedAt,
          stdout: p.stdout,
          stderr: p.stderr,
        });
      }),
  );

  // Registered last: its `{sandbox_id}` pattern is the least specific.
  server.registerResource(
    'sandbox',
    new ResourceTemplate('hopx://sandboxes/{sandbox_id}', {
      list: () => ({
        resources: conversation.attachedSandboxes().map((s) => ({
          uri: sandboxUri(s.id),
          name: `sandbox ${s.id}`,
          mimeType: 'application/json',
          description: `${s.origin === 'created' ? 'Created' : 'Connected'} in this conversation${conversation.currentSandboxId === s.id ? ' (current)' : ''}`,
        })),
      }),
      complete: { sandbox_id: completeSandboxId },
    }),
    { title: 'Sandbox info', description: 'Status, template, region and expiry of a sandbox', mimeType: 'application/json', ...READ_SCOPE },
    async (uri, variables, ctx) =>
      guarded(conversation, uri.href, async () => {
        const sandboxId = conversation.resolveSandbox(one(variables.sandbox_id));
        const info = await conversation.client.sandboxes.get(sandboxId, { signal: ctx.mcpReq.signal });
        conversation.noteExpiry(sandboxId, info.expiresAt);
        return json(uri.href, summarize(info, conversation));
      }),
  );
}
