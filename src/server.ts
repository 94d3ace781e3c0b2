/**
 * Builds an McpServer for one conversation. The server holds no state: everything lives in the
 * Conversation, so a transport may build a fresh server per request (2026-era stateless HTTP)
 * bound to a longer-lived Conversation.
 */
import { McpServer } from '@modelcontextprotocol/server';
import type { Conversation } from './conversation/conversation.js';
import { allTools, filterTools, OFF_BY_DEFAULT, registerTools, TOOLSETS, type ToolCallHooks } from './tools/index.js';
import { forBackend, type BackendKind, type OutputBudget, type PerBackend, type ToolDefinition, type Toolset } from './tools/tool.js';
import { allResources, registerResources } from './resources/index.js';

export { OFF_BY_DEFAULT, TOOLSETS };
export type { ToolDefinition };

const SERVER_NAME = 'hopx-mcp';
const SERVER_VERSION = '0.1.0';

/** Default output budget: ~10k tokens of output per result, well under the 25k-token client cap. */
export const DEFAULT_OUTPUT_BUDGET_CHARS = 40_000;
/** Default budget for inlined images per result (base64 characters, ~600 KB decoded). */
const DEFAULT_IMAGE_BUDGET_CHARS = 800_000;

export interface ServerOptions {
  /** Toolset names to enable (see TOOLSETS); default all but OFF_BY_DEFAULT (desktop). */
  toolsets?: string[];
  /** Hide every tool that changes anything, and never extend a sandbox's lifetime on activity. */
  readOnly?: boolean;
  /**
   * Characters of command/code/file output in one result, across its text block and
   * structuredContent together; longer output is cut (head and tail kept) and kept whole in the
   * sandbox (src/tools/kept.ts). Default 40 000.
   */
  outputBudgetChars?: number;
  /** Base64 characters of images inlined in one result; default 800 000. */
  imageBudgetChars?: number;
  /** Keepalive progress interval for calls that carry a progress token; default 5 000 ms. */
  progressIntervalMs?: number;
  /** Hosting hooks around every tool call (HTTP: per-caller limits and metrics). */
  hooks?: ToolCallHooks;
  /** extra tools for tests (conformance fixtures) */
  extraTools?: ToolDefinition[];
}

/**
 * Workflow guidance per toolset, one sentence per entry, in the words of the backend serving
 * (docs/decisions.md decision 10); sentences naming a hidden tool are left out.
 */
const INSTRUCTIONS: Record<Toolset, Array<PerBackend<string>>> = {
  sandbox: [
    (backend) =>
      backend === 'local'
        ? 'Sandboxes are isolated environments on this machine, each with its own files (writable: /workspace, /tmp, /root), processes and network; your own files are not in them. ' +
          "They have no internet unless created with internet_access: true, and /usr is this machine's, read-only (no apt-get)."
        : 'Sandboxes are separate machines behind the HopX API (VMs on HopX cloud); your own files are not in them.',
    'Create one with sandbox_create and reuse it: it becomes the current sandbox, which every tool acts on when sandbox_id is left out.',
    'Sandboxes made with sandbox_create belong to this conversation and are killed when it ends.',
    'To use a sandbox created elsewhere, attach it with sandbox_connect (sandbox_list with scope "account" shows them).',
  ],
  code: [
    'sandbox_run_code runs python (variables kept between calls; plots come back as images), javascript, bash or go (fresh each call).',
    'For long jobs or servers use sandbox_run_code_background (it runs until it ends or is killed), then sandbox_wait_process or sandbox_list_processes to follow it.',
  ],
  commands: [
    (backend) =>
      `sandbox_run_command is the shell for ${backend === 'local' ? 'builds, tests, git and file work' : 'installs, builds, tests and git'}: up to 3600 s, or background: true for servers.`,
    'It and bash in sandbox_run_code start a fresh shell each call (cd and shell variables are not kept: pass working_dir and env); sandbox_run_code stops a run at 300 s.',
  ],
  files: [
    'Move files with sandbox_write_file and sandbox_read_file (encoding "base64" for binary).',
    'Long outputs and files are cut to fit, and the result says where the whole is (a cut output is kept in a sandbox file): read it in pages with sandbox_read_file start_line.',
  ],
  env: ['sandbox_set_env sets variables for later runs; sandbox_get_env masks secret-looking values.'],
  preview: [
    (backend) =>
      backend === 'local'
        ? 'To reach a web server, start it in the background, then sandbox_get_preview_url gives its URL on this machine.'
        : 'To expose a web server, start it in the background listening on 0.0.0.0, then sandbox_get_preview_url gives its URL (public on HopX cloud).',
  ],
  metrics: [],
  cache: [],
  desktop: [
    'For GUI apps use a sandbox from the "desktop" template: start the app in the background, then sandbox_desktop_screenshot, sandbox_desktop_click and sandbox_desktop_type; look again after each step.',
  ],
  terminal: ['For interactive programs (REPLs, prompts, top) open sandbox_terminal_start and drive it with sandbox_terminal_send.'],
};

function buildInstructions(backend: BackendKind, toolsets: readonly Toolset[], enabledTools?: ReadonlySet<string>): string {
  // Tool names only: sandbox_id is a parameter, not a tool that could be hidden.
  const toolNames = new Set(allTools.map((t) => t.name));
  const available = (sentence: string) =>
    (sentence.match(/\bsandbox_[a-z_]+/g) ?? []).every((name) => !toolNames.has(name) || !enabledTools || enabledTools.has(name));
  return toolsets
    .map((t) =>
      INSTRUCTIONS[t]
        .map((sentence) => forBackend(sentence, backend))
        .filter(available)
        .join(' '),
    )
    .filter((s) => s !== '')
    .join('\n');
}

export function createHopxMcpServer(conversation: Conversation, options: ServerOptions = {}): McpServer {
  const tools = filterTools(allTools, { toolsets: options.toolsets, readOnly: options.readOnly });
  const enabledSets = TOOLSETS.filter((t) => tools.some((tool) => tool.toolset === t));
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'HopX sandboxes' },
    { instructions: buildInstructions(conversation.backend, enabledSets, new Set(tools.map((t) => t.name))), capabilities: { logging: {} } },
  );
  const budgetChars = options.outputBudgetChars ?? DEFAULT_OUTPUT_BUDGET_CHARS;
  if (!Number.isFinite(budgetChars) || budgetChars < 1000) {
    throw new Error(`outputBudgetChars must be a number of at least 1000 (got ${String(options.outputBudgetChars)}).`);
  }
  const budget: OutputBudget = {
    // Output appears twice (text block and structuredContent), so each copy gets half.
    textChars: Math.floor(budgetChars / 2),
    imageChars: options.imageBudgetChars ?? DEFAULT_IMAGE_BUDGET_CHARS,
  };
  registerTools(server, [...tools, ...(options.extraTools ?? [])], {
    conversation,
    budget,
    readOnly: options.readOnly,
    progressIntervalMs: options.progressIntervalMs,
    hooks: options.hooks,
  });
  registerResources(server, allResources, { conversation, readOnly: options.readOnly === true });
  registerNotices(server, conversation);
  return server;
}

/**
 * The conversation's events (src/conversation/notices.ts) as MCP log messages, on a 2025-era
 * session: from its `initialized` notification until it closes, filtered by the level its client
 * set with logging/setLevel (the SDK keeps that per session). 2026-era requests never send
 * `initialized` (and that era deprecates logging), nor does a throw-away server that only answered
 * `server/discover`: they listen to nothing.
 */
function registerNotices(server: McpServer, conversation: Conversation): void {
  let stop: (() => void) | undefined;
  const previousInitialized = server.server.oninitialized;
  server.server.oninitialized = () => {
    previousInitialized?.();
    stop ??= conversation.notices.listen((notice) => {
      const sessionId = server.server.transport?.sessionId;
      server.server
        .sendLoggingMessage({ level: notice.level, logger: notice.logger, data: notice.data }, sessionId)
        .catch((err: unknown) => conversation.logger.debug({ event: notice.data.event, err: String(err) }, 'log message not delivered'));
    });
  };
  const previousClose = server.server.onclose;
  server.server.onclose = () => {
    stop?.();
    previousClose?.();
  };
}
