import { z } from 'zod';
import type { TemplateInfo } from '../client/types.js';
import type { Conversation } from '../conversation/conversation.js';
import { AbortedError, ConflictError } from '../client/errors.js';
import { redactSecrets } from '../text/secrets.js';
import { defineSandboxTool, defineTool, type BackendKind, type ToolDefinition } from './tool.js';
import { jsonText } from './result.js';
import { expiresIn, SandboxSummary, summarize, summaryLine } from '../views/sandbox.js';
import { ENV_VARS, idParam, SANDBOX_ID } from './params.js';

const DEFAULT_TEMPLATE = 'code-interpreter';

const StateChange = z.object({ sandbox_id: z.string(), status: z.string() });

/**
 * Each backend's own default, said, not sent: left out, the backend applies it (the local one
 * gives a sandbox loopback only). Sending true would make a local backend behind HOPX_API_KEY
 * share the host's network with every sandbox.
 */
const INTERNET_ACCESS: Record<BackendKind, z.ZodOptional<z.ZodBoolean>> = {
  cloud: z.boolean().optional().describe('Outbound internet. Default true on HopX cloud.'),
  local: z.boolean().optional().describe("Share this machine's network (internet and local services). Default false: loopback only."),
};

const sandboxCreate = defineTool({
  name: 'sandbox_create',
  title: 'Create sandbox',
  description: (backend) =>
    (backend === 'local'
      ? 'Create a sandbox: an isolated environment on this machine (own files, processes, network), not your working directory. '
      : 'Create a sandbox: a separate machine behind the HopX API (a VM on HopX cloud), not yours. ') +
    'It becomes the current sandbox (what tools act on without sandbox_id) and is killed when this conversation ends.',
  toolset: 'sandbox',
  kind: 'write',
  input: (backend) =>
    z.strictObject({
      template: z.string().min(1).max(128).default(DEFAULT_TEMPLATE).describe('See sandbox_list_templates.'),
      template_id: z.string().min(1).max(64).optional().describe('Numeric template id; wins over template.'),
      region: z
        .string()
        .min(1)
        .max(64)
        .optional()
        .describe(backend === 'local' ? 'Only a label here. Default "local".' : 'e.g. "us-east". Default: chosen by HopX.'),
      timeout_seconds: z
        .number()
        .int()
        .min(60)
        .max(86_400)
        .optional()
        .describe('Lifetime, renewed by tool calls on it. Default 3600.'),
      internet_access: INTERNET_ACCESS[backend],
      env_vars: ENV_VARS.optional().describe('e.g. {"DEBUG": "1"}'),
    }),
  output: SandboxSummary,
  async handle(ctx, args) {
    const timeout = args.timeout_seconds ?? ctx.conversation.defaultSandboxTimeoutSeconds;
    const template = args.template_id ? undefined : args.template;
    const info = await ctx.conversation.trackCreate(async () => {
      const created = await ctx.conversation.client.sandboxes.create(
        { template, templateId: args.template_id, region: args.region, timeoutSeconds: timeout, internetAccess: args.internet_access, envVars: args.env_vars },
        // Creating is never retried by the client and may take a while on HopX cloud. Not bound to
        // the caller's signal: an aborted request may still make the sandbox, and then its id
        // would never arrive to kill it.
        { timeoutMs: 300_000 },
      );
      if (ctx.call.signal?.aborted) {
        // The caller went away while HopX was creating it: nobody will ever use it.
        await ctx.conversation.client.sandboxes.kill(created.id, { timeoutMs: 15_000 }).then(
          () => ctx.logger.info({ sandbox_id: created.id }, 'sandbox killed: its caller went away during create'),
          (err: unknown) => ctx.logger.warn({ sandbox_id: created.id, err: String(err) }, 'sandbox kill after abandoned create failed; it will expire at its timeout'),
        );
        throw new AbortedError('Cancelled: the caller went away while the sandbox was being created; it was killed.');
      }
      await ctx.conversation.attach(created, 'created', timeout);
      return created;
    });
    const s = summarize(info, ctx.conversation);
    const caveats = ctx.conversation.caveats;
    const note = caveats.length > 0 ? ` On this machine: ${caveats.join('; ')}.` : '';
    return { text: `Created sandbox ${summaryLine(s)}.${note}`, structured: s };
  },
});

const sandboxConnect = defineTool({
  name: 'sandbox_connect',
  title: 'Connect to sandbox',
  description: (backend) =>
    (backend === 'local'
      ? 'Attach a sandbox of this server created by another conversation, and make it current. '
      : 'Attach an existing sandbox of the HopX account (say, from an earlier conversation) and make it current. ') +
    'It is not killed when this conversation ends.',
  toolset: 'sandbox',
  kind: 'read',
  idempotent: true,
  confirmation: true,
  input: z.strictObject({
    sandbox_id: idParam('From sandbox_list with scope "account".'),
  }),
  output: SandboxSummary,
  async handle(ctx, args) {
    ctx.conversation.assertActive();
    const info = await ctx.conversation.client.sandboxes.get(args.sandbox_id, ctx.call);
    const attached = ctx.conversation.attachment(info.id);
    // Activity extends a connected sandbox by its own timeout too, so it does not expire mid-work.
    await ctx.conversation.attach(info, 'connected', attached?.leaseSeconds ?? info.timeoutSeconds);
    const s = summarize(info, ctx.conversation);
    let hint = '';
    if (info.status === 'paused') hint = ' It is paused: call sandbox_resume before running anything.';
    else if (info.status === 'stopped') hint = ' It is stopped: call sandbox_start before running anything.';
    return { text: `Connected to sandbox ${summaryLine(s)}.${hint}`, structured: s };
  },
});

const sandboxList = defineTool({
  name: 'sandbox_list',
  title: 'List sandboxes',
  description: (backend) => `List this conversation's sandboxes, or with scope "account" every sandbox of ${backend === 'local' ? 'this local backend' : 'the HopX account'}.`,
  toolset: 'sandbox',
  kind: 'read',
  input: z.strictObject({
    scope: z.enum(['conversation', 'account']).default('conversation').describe('"conversation": created or connected here.'),
    status: z.enum(['running', 'stopped', 'paused', 'creating']).optional().describe('Only in this state.'),
    region: z.string().min(1).max(64).optional().describe('Only in this region.'),
    limit: z.number().int().min(1).max(100).default(20).describe('Page size (scope "account").'),
    cursor: z.string().min(1).max(512).optional().describe('next_cursor of the previous page.'),
  }),
  output: z.object({
    scope: z.enum(['conversation', 'account']),
    sandboxes: z.array(SandboxSummary),
    has_more: z.boolean(),
    next_cursor: z.string().nullable(),
  }),
  async handle(ctx, args) {
    const { conversation } = ctx;
    let sandboxes: SandboxSummary[];
    let hasMore = false;
    let nextCursor: string | null = null;
    if (args.scope === 'account') {
      const page = await conversation.client.sandboxes.list({ status: args.status, region: args.region, limit: args.limit, cursor: args.cursor }, ctx.call);
      sandboxes = page.sandboxes.map((i) => summarize(i, conversation));
      hasMore = page.hasMore;
      nextCursor = page.nextCursor;
    } else {
      const attached = conversation.attachedSandboxes();
      const infos = await Promise.all(
        attached.map(async (a) => {
          try {
            const info = await conversation.client.sandboxes.get(a.id, ctx.call);
            conversation.noteExpiry(a.id, info.expiresAt);
            return summarize(info, conversation);
          } catch {
            // Gone (expired or killed elsewhere): still list it, so the model sees why calls fail.
            return unreachableSummary(a.id, conversation);
          }
        }),
      );
      sandboxes = infos.filter((s) => (!args.status || s.status === args.status) && (!args.region || s.region === args.region));
    }
    const lines = sandboxes.map((s) => `- ${summaryLine(s)}`);
    const head =
      sandboxes.length === 0
        ? args.scope === 'conversation'
          ? 'This conversation has no sandboxes yet; create one with sandbox_create.'
          : 'No sandboxes found.'
        : `${sandboxes.length} sandbox${sandboxes.length === 1 ? '' : 'es'} (${args.scope}):`;
    const more = hasMore ? `\nMore available: pass cursor "${nextCursor}".` : '';
    return { text: [head, ...lines].join('\n') + more, structured: { scope: args.scope, sandboxes, has_more: hasMore, next_cursor: nextCursor } };
  },
});

function unreachableSummary(id: string, conversation: Conversation): SandboxSummary {
  return {
    sandbox_id: id,
    status: 'unreachable',
    template: null,
    region: null,
    created_at: null,
    expires_at: null,
    timeout_seconds: null,
    internet_access: null,
    resources: null,
    attached: conversation.attachment(id)?.origin ?? 'no',
    current: conversation.currentSandboxId === id,
  };
}

const sandboxGetInfo = defineSandboxTool({
  name: 'sandbox_get_info',
  title: 'Get sandbox info',
  description: "A sandbox's status, template, region, resources and expiry.",
  toolset: 'sandbox',
  kind: 'read',
  input: z.strictObject({}),
  output: SandboxSummary,
  async handle(ctx) {
    const info = await ctx.conversation.client.sandboxes.get(ctx.sandboxId, ctx.call);
    ctx.conversation.noteExpiry(info.id, info.expiresAt);
    const s = summarize(info, ctx.conversation);
    return { text: `Sandbox ${summaryLine(s)}.`, structured: s };
  },
});

/**
 * Start, stop, pause and resume: one control-plane call each, the same result shape. They are
 * idempotent in fact, not only in their annotations: HopX answers 409 when the sandbox is already
 * in the target state, and that is reported as done.
 */
function stateTool(spec: {
  action: 'start' | 'stop' | 'pause' | 'resume';
  title: string;
  description: string;
  kind: 'write' | 'destructive';
  verb: string;
  target: string;
  /** What the model should know next (what survived, how to undo). */
  next: string;
}): ToolDefinition {
  return defineSandboxTool({
    name: `sandbox_${spec.action}`,
    title: spec.title,
    description: spec.description,
    toolset: 'sandbox',
    kind: spec.kind,
    idempotent: true,
    confirmation: true,
    input: z.strictObject({}),
    output: StateChange,
    async handle(ctx) {
      const { sandboxes } = ctx.conversation.client;
      try {
        const change = await sandboxes[spec.action](ctx.sandboxId, ctx.call);
        // The status is only worth saying when it is not the one the verb implies ("starting").
        const status = change.status === spec.target ? '' : `; status: ${change.status}`;
        return { text: `Sandbox ${ctx.sandboxId} ${spec.verb}${status}. ${spec.next}`, structured: { sandbox_id: ctx.sandboxId, status: change.status } };
      } catch (err) {
        if (!(err instanceof ConflictError) || (await sandboxes.get(ctx.sandboxId, ctx.call)).status !== spec.target) throw err;
        return { text: `Sandbox ${ctx.sandboxId} was already ${spec.target}.`, structured: { sandbox_id: ctx.sandboxId, status: spec.target } };
      }
    },
  });
}

const stateTools = [
  {
    action: 'start',
    title: 'Start sandbox',
    description: 'Start a stopped sandbox: its files were kept, its processes and memory were not.',
    kind: 'write',
    verb: 'started',
    target: 'running',
    next: 'Files are as they were; Python variables and processes from before the stop are gone.',
  },
  {
    action: 'stop',
    title: 'Stop sandbox',
    description: 'Stop a sandbox until sandbox_start: files are kept; processes and memory (Python variables) are lost.',
    kind: 'destructive',
    verb: 'stopped',
    target: 'stopped',
    next: 'Files are kept; processes and Python variables are gone. Start it again with sandbox_start.',
  },
  {
    action: 'pause',
    title: 'Pause sandbox',
    description: 'Pause a sandbox, keeping memory and processes; nothing runs until sandbox_resume.',
    kind: 'write',
    verb: 'paused',
    target: 'paused',
    next: 'Memory and processes are kept; nothing runs until sandbox_resume.',
  },
  {
    action: 'resume',
    title: 'Resume sandbox',
    description: 'Resume a paused sandbox where it left off.',
    kind: 'write',
    verb: 'resumed',
    target: 'running',
    next: 'It continues where it left off.',
  },
] as const;

const sandboxKill = defineSandboxTool({
  name: 'sandbox_kill',
  title: 'Kill sandbox',
  description: 'Delete a sandbox and everything in it, at once. One already gone is not an error.',
  toolset: 'sandbox',
  kind: 'destructive',
  idempotent: true,
  confirmation: true,
  input: z.strictObject({}),
  output: z.object({ sandbox_id: z.string(), killed: z.boolean(), current_sandbox_id: z.string().nullable() }),
  async handle(ctx) {
    const existed = await ctx.conversation.client.sandboxes.kill(ctx.sandboxId, ctx.call);
    ctx.conversation.detach(ctx.sandboxId);
    const next = ctx.conversation.currentSandboxId;
    const text = `${existed ? 'Killed' : 'Sandbox was already gone:'} ${ctx.sandboxId}.${next ? ` Current sandbox is now ${next}.` : ' This conversation has no current sandbox now.'}`;
    return { text, structured: { sandbox_id: ctx.sandboxId, killed: existed, current_sandbox_id: next } };
  },
});

const sandboxSetTimeout = defineSandboxTool({
  name: 'sandbox_set_timeout',
  title: 'Set sandbox timeout',
  description: "Set the sandbox's lifetime from now (it is killed then); tool calls on it renew it.",
  toolset: 'sandbox',
  kind: 'write',
  idempotent: true,
  confirmation: true,
  input: z.strictObject({
    timeout_seconds: z.number().int().min(60).max(86_400).describe('e.g. 3600'),
  }),
  output: z.object({ sandbox_id: z.string(), timeout_seconds: z.number(), expires_at: z.string().nullable() }),
  async handle(ctx, args) {
    const t = await ctx.conversation.client.sandboxes.setTimeout(ctx.sandboxId, args.timeout_seconds, ctx.call);
    ctx.conversation.noteExpiry(ctx.sandboxId, t.expiresAt, args.timeout_seconds);
    return {
      text: `Sandbox ${ctx.sandboxId} now expires ${t.expiresAt ? expiresIn(t.expiresAt) : `in ${args.timeout_seconds} s`}.`,
      structured: { sandbox_id: ctx.sandboxId, timeout_seconds: t.timeoutSeconds, expires_at: t.expiresAt },
    };
  },
});

const TemplateSummary = z.object({
  id: z.string(),
  name: z.string(),
  display_name: z.string().nullable(),
  description: z.string().nullable(),
  category: z.string().nullable(),
  language: z.string().nullable(),
});

const TemplateDetail = TemplateSummary.extend({
  features: z.array(z.string()),
  status: z.string().nullable(),
  is_active: z.boolean().nullable(),
  default_resources: z.object({ vcpu: z.number().nullable(), memory_mb: z.number().nullable(), disk_gb: z.number().nullable() }).nullable(),
});

function templateSummary(t: TemplateInfo): z.infer<typeof TemplateSummary> {
  const description = t.description && t.description.length > 200 ? `${t.description.slice(0, 200)}…` : t.description;
  return { id: t.id, name: t.name, display_name: t.displayName, description, category: t.category, language: t.language };
}

const sandboxListTemplates = defineTool({
  name: 'sandbox_list_templates',
  title: 'List templates',
  description: (backend) =>
    backend === 'local' ? 'List the templates for sandbox_create (here: the runtimes found on this machine).' : 'List the templates (base images) for sandbox_create.',
  toolset: 'sandbox',
  kind: 'read',
  input: z.strictObject({
    category: z.string().min(1).max(64).optional().describe('Only this category.'),
    language: z.string().min(1).max(64).optional().describe('Only this language, e.g. "python".'),
  }),
  output: z.object({ templates: z.array(TemplateSummary) }),
  async handle(ctx, args) {
    const templates = (await ctx.conversation.client.templates.list({ category: args.category, language: args.language }, ctx.call)).map(templateSummary);
    const lines = templates.map((t) => `- ${t.name}${t.display_name ? ` (${t.display_name})` : ''}${t.description ? `: ${t.description}` : ''}`);
    return { text: templates.length === 0 ? 'No templates match.' : [`${templates.length} templates:`, ...lines].join('\n'), structured: { templates } };
  },
});

const sandboxGetTemplate = defineTool({
  name: 'sandbox_get_template',
  title: 'Get template',
  description: "A template's description, features and default resources.",
  toolset: 'sandbox',
  kind: 'read',
  input: z.strictObject({
    name: z.string().min(1).max(128).describe('Name or numeric id, e.g. "code-interpreter".'),
  }),
  output: TemplateDetail,
  async handle(ctx, args) {
    const t = await ctx.conversation.client.templates.get(args.name, ctx.call);
    const detail = {
      ...templateSummary(t),
      description: t.description,
      features: t.features,
      status: t.status,
      is_active: t.isActive,
      default_resources: t.defaultResources ? { vcpu: t.defaultResources.vcpu, memory_mb: t.defaultResources.memoryMb, disk_gb: t.defaultResources.diskGb } : null,
    };
    return { text: jsonText(detail), structured: detail };
  },
});

const sandboxHealthCheck = defineTool({
  name: 'sandbox_health_check',
  title: 'Health check',
  description: (backend) => `Check that ${backend === 'local' ? 'the local backend' : 'the HopX API'} answers, and the agent of the given or current sandbox.`,
  toolset: 'sandbox',
  kind: 'read',
  input: z.strictObject({ sandbox_id: SANDBOX_ID }),
  output: z.object({
    api: z.object({ ok: z.boolean(), status: z.string() }),
    sandbox: z.object({ sandbox_id: z.string(), healthy: z.boolean(), status: z.string(), version: z.string().nullable() }).nullable(),
  }),
  async handle(ctx, args) {
    const { conversation } = ctx;
    const target = args.sandbox_id ? conversation.resolveSandbox(args.sandbox_id) : conversation.currentSandboxId;
    const api = await conversation.client.health(ctx.call);
    let sandbox: { sandbox_id: string; healthy: boolean; status: string; version: string | null } | null = null;
    if (target) {
      try {
        const h = await conversation.client.agent(target).health(ctx.call);
        sandbox = { sandbox_id: target, healthy: h.healthy, status: h.status, version: h.version };
      } catch (err) {
        sandbox = { sandbox_id: target, healthy: false, status: redactSecrets(err instanceof Error ? err.message : 'unreachable').slice(0, 200), version: null };
      }
    }
    // The raw status only when it adds something ("ok (ok)", "healthy (healthy)" did not).
    const said = (word: string, status: string) => (status.toLowerCase() === word.toLowerCase() ? word : `${word} (${status})`);
    const text =
      `${conversation.backend === 'local' ? 'Local backend' : 'HopX API'}: ${said(api.ok ? 'ok' : 'NOT ok', api.status)}.` +
      (sandbox ? ` Sandbox ${sandbox.sandbox_id}: ${said(sandbox.healthy ? 'healthy' : 'NOT healthy', sandbox.status)}.` : ' No sandbox checked.');
    return { text, structured: { api: { ok: api.ok, status: api.status }, sandbox } };
  },
});

const tools: ToolDefinition[] = [
  sandboxCreate,
  sandboxConnect,
  sandboxList,
  sandboxGetInfo,
  ...stateTools.map(stateTool),
  sandboxKill,
  sandboxSetTimeout,
  sandboxListTemplates,
  sandboxGetTemplate,
  sandboxHealthCheck,
];
export default tools;
