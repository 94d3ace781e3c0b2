/**
 * Domain types of the HopX client: what callers of `src/client` see.
 *
 * Wire shapes (snake_case, several variants per field, see docs/hopx-wire.md) are mapped to
 * these camelCase types at the boundary, in one place per resource. Timestamps stay ISO 8601
 * strings as HopX sends them (null where HopX says "none").
 *
 * This file is the contract between the client (src/client), the MCP tools (src/tools) and the
 * local backend's tests: change it deliberately.
 */

/** Options every client call accepts. */
export interface CallOptions {
  /** Aborts the request (and, for streams, closes the socket). */
  signal?: AbortSignal;
  /** Per-request timeout in milliseconds; defaults depend on the call (see each method). */
  timeoutMs?: number;
}

// ---------------------------------------------------------------- control plane

export type SandboxStatus =
  | 'creating'
  | 'running'
  | 'stopped'
  | 'paused'
  | 'error'
  | 'deleted'
  | 'killed'
  | (string & {});

export interface SandboxResources {
  vcpu: number;
  memoryMb: number;
  diskMb: number;
}

export interface SandboxInfo {
  id: string;
  status: SandboxStatus;
  templateId: string | null;
  templateName: string | null;
  region: string | null;
  /** VM agent base URL (scheme + host[:port]), used verbatim for agent calls. */
  publicHost: string;
  directUrl: string | null;
  previewUrl: string | null;
  resources: SandboxResources | null;
  internetAccess: boolean | null;
  timeoutSeconds: number | null;
  expiresAt: string | null;
  createdAt: string | null;
  requestId: string | null;
  // auth_token / token_expires_at are deliberately absent: the client keeps them in its token
  // cache and never hands them out (they must not reach tool output or logs).
}

export interface CreateSandboxOptions {
  /** Template name, e.g. `code-interpreter`. One of `template` / `templateId` is required. */
  template?: string;
  /** Numeric template id as a string; wins over `template` when both are given. */
  templateId?: string;
  region?: string;
  /** Auto-kill after this many seconds; absent = no auto-kill. */
  timeoutSeconds?: number;
  /** Default true. */
  internetAccess?: boolean;
  envVars?: Record<string, string>;
}

export interface ListSandboxesOptions {
  status?: 'running' | 'stopped' | 'paused' | 'creating';
  region?: string;
  limit?: number;
  cursor?: string;
}

export interface SandboxPage {
  sandboxes: SandboxInfo[];
  hasMore: boolean;
  nextCursor: string | null;
}

export interface SandboxStateChange {
  id: string;
  status: SandboxStatus;
}

export interface SandboxTimeout {
  id: string;
  timeoutSeconds: number;
  expiresAt: string | null;
}

export interface AgentTokenInfo {
  /** When the current agent token expires (the token itself never leaves the client). */
  expiresAt: string | null;
}

export interface TemplateResources {
  vcpu: number | null;
  memoryMb: number | null;
  diskGb: number | null;
}

export interface TemplateInfo {
  id: string;
  name: string;
  displayName: string | null;
  description: string | null;
  category: string | null;
  language: string | null;
  features: string[];
  status: string | null;
  isActive: boolean | null;
  isPublic: boolean | null;
  defaultResources: TemplateResources | null;
}

export interface ListTemplatesOptions {
  category?: string;
  language?: string;
}

export interface ControlPlaneHealth {
  ok: boolean;
  status: string;
  /** The raw JSON body, for display. */
  details: Record<string, unknown>;
}

export interface TemplateDeleteResult {
  id: string;
  status: string | null;
  message: string | null;
}

export interface TemplateUploadLinkOptions {
  /** SHA-256 (64 hex digits) of the gzip tarball of the COPY context. */
  filesHash: string;
  /** Size of that tarball in bytes (at least 1). */
  contentLength: number;
}

export interface TemplateUploadLink {
  /** True when HopX already has these files: skip the upload. */
  present: boolean;
  /** Where to PUT the tarball (`Content-Type: application/gzip`) when not present. */
  uploadUrl: string | null;
  expiresAt: string | null;
  filesHash: string;
}

/** One build step, sent as given, e.g. `{ type: 'RUN', args: ['pip install x'] }` (docs/hopx-wire.md §4.11). */
export interface TemplateBuildStep {
  type: string;
  args?: string[];
  [field: string]: unknown;
}

export interface TemplateBuildRequest {
  name: string;
  /** Base image, e.g. `python:3.12-slim` (Alpine is not supported by HopX). */
  fromImage: string;
  /** Default 2 (as the SDKs). */
  cpu?: number;
  /** Default 2048. */
  memoryMb?: number;
  /** Default 10. */
  diskGb?: number;
  steps?: TemplateBuildStep[];
  skipCache?: boolean;
  /** Rebuild an existing template of this name instead of failing with 409. */
  update?: boolean;
  startCmd?: string;
  /** `{type: port|url|file|process|command, port?, url?, path?, name?, command?}`. */
  readyCmd?: Record<string, unknown>;
  /** `{type: "basic", username, password}` or `{token}`. Never logged. */
  registryCredentials?: Record<string, string>;
  agentVersion?: string;
}

export interface TemplateBuild {
  buildId: string;
  templateId: string | null;
  status: string;
  logsUrl: string | null;
}

export interface TemplateBuildStatus {
  buildId: string;
  templateId: string | null;
  /** e.g. building, active, completed, success, failed. */
  status: string;
  progress: number | null;
  currentStep: string | null;
  startedAt: string | null;
  completedAt: string | null;
  errorMessage: string | null;
  buildDurationMs: number | null;
  estimatedCompletion: string | null;
}

export interface TemplateBuildLogs {
  /** Log text since the requested offset. */
  logs: string;
  /** Pass this as the next `offset`. */
  offset: number;
  status: string | null;
  complete: boolean;
}

// ---------------------------------------------------------------- agent: code

export type Language = 'python' | 'javascript' | 'bash' | 'go';

export interface RunCodeOptions {
  code: string;
  /** Default `python`. */
  language?: Language;
  /** Execution timeout in seconds; default 120 (the HTTP timeout is this + 30 s). */
  timeoutSeconds?: number;
  /** Working directory in the sandbox; default `/workspace`. Sent as `workdir`. */
  workingDir?: string;
  env?: Record<string, string>;
}

/** One representation of a rich output: a MIME type and its data. */
export interface RichOutput {
  /** `image/png`, `image/svg+xml`, `text/html`, `text/markdown`, `application/json`, `text/plain`. */
  mimeType: string;
  /** base64 for images, text for text kinds, JSON text for application/json. */
  data: string;
}

/** One output in all its representations (a Jupyter MIME bundle): MIME type → data (as in RichOutput). */
export interface MimeBundle {
  kind: 'display' | 'result';
  data: Record<string, string>;
}

export interface ExecutionResult {
  success: boolean;
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Seconds, as the agent reports `execution_time`. */
  executionTimeSeconds: number | null;
  language: string | null;
  /** Jupyter `text/plain` of the last expression, if any. */
  result: string | null;
  /**
   * Rich outputs as Jupyter-style MIME bundles, in the order they were produced: each display()
   * or figure, then the last expression's value (`kind: "result"`, whose text/plain is `result`).
   * One bundle holds every representation of one output, so nothing appears twice.
   */
  outputs: MimeBundle[];
  /** Whole streams the agent kept in the sandbox because its answer cut them. */
  keptOutputs: KeptOutputs;
}

/**
 * A whole output stream kept in the sandbox's filesystem (the local backend's `kept_outputs`
 * extension of the /execute and /commands/run answers; HopX cloud agents send none).
 */
export interface KeptOutput {
  /**
   * Sandbox path of the file holding the whole stream; null when the agent cut the stream and
   * could not keep it whole (then its text is all there is, and nobody may offer it as the whole).
   */
  path: string | null;
  bytes: number;
  lines: number;
}

export interface KeptOutputs {
  stdout?: KeptOutput;
  stderr?: KeptOutput;
}

export interface RunBackgroundOptions extends RunCodeOptions {
  /** A label shown in process lists. */
  name?: string;
}

export interface BackgroundProcessHandle {
  processId: string;
  executionId: string | null;
  status: string;
  name: string | null;
}

export interface BackgroundProcess {
  processId: string;
  executionId: string | null;
  name: string | null;
  /** running | completed | failed | killed | queued */
  status: string;
  language: string | null;
  pid: number | null;
  exitCode: number | null;
  startedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  stdout: string | null;
  stderr: string | null;
  /**
   * How it ended, when the agent says (the local backend's `end_reason` extension; HopX cloud
   * agents send none): exited by itself, died of a signal, or killed at its timeout, by a kill
   * request, by the memory limit, or because its sandbox stopped. Null while running or unknown.
   */
  endReason: BackgroundEndReason | null;
  /** The signal that ended it (e.g. SIGTERM), when the agent says. */
  signal: string | null;
  /** The timeout it runs with, when the agent says; null = none or unknown. */
  timeoutSeconds: number | null;
  /** Whole streams the agent keeps in the sandbox because they passed what it answers with. */
  keptOutputs: KeptOutputs;
}

export type BackgroundEndReason = 'exited' | 'signal' | 'timeout' | 'killed' | 'oom' | 'sandbox_stopped';

export interface SystemProcess {
  pid: number;
  name: string | null;
  command: string | null;
  user: string | null;
  status: string | null;
  cpuPercent: number | null;
  memoryMb: number | null;
}

export type StreamEvent =
  | { type: 'stdout'; data: string }
  | { type: 'stderr'; data: string }
  | { type: 'result'; exitCode: number; executionTimeSeconds: number | null }
  | { type: 'error'; error: string; code: string | null }
  | { type: 'complete'; success: boolean };

export interface RunRichOptions extends RunCodeOptions {
  /** Default true. */
  captureRich?: boolean;
}

export interface RichExecutionResult extends ExecutionResult {
  /** Rich outputs the agent reported as files (older agents: `{type: "image", path}`), not inline data. */
  richFiles: Array<{ mimeType: string; path: string }>;
}

export interface RunIpythonOptions {
  code: string;
  /** Execution timeout in seconds; default 60 (the HTTP timeout is this + 30 s). */
  timeoutSeconds?: number;
  env?: Record<string, string>;
}

export interface RunAsyncOptions extends RunCodeOptions {
  /** http(s) URL the agent POSTs the result to when the run ends. */
  callbackUrl: string;
  callbackHeaders?: Record<string, string>;
  /** Signs the callback (`X-HOPX-Signature: sha256=<hmac>`). Never logged. */
  callbackSignatureSecret?: string;
}

export interface AsyncExecutionHandle {
  executionId: string;
  /** `queued` on acceptance. */
  status: string;
  callbackUrl: string | null;
  message: string | null;
  timestamp: string | null;
}

export interface JupyterSession {
  kernelId: string;
  /** idle | busy | starting */
  executionState: string | null;
  connections: number | null;
  lastActivity: string | null;
}

// ---------------------------------------------------------------- agent: commands

export interface RunCommandOptions {
  /** A shell command line; sent as `bash -c <command>` like the official SDKs. */
  command: string;
  /** Timeout in seconds; default 30. */
  timeoutSeconds?: number;
  workingDir?: string;
  env?: Record<string, string>;
}

export interface CommandResult {
  success: boolean;
  stdout: string;
  stderr: string;
  exitCode: number;
  executionTimeSeconds: number | null;
  pid: number | null;
  keptOutputs: KeptOutputs;
}

// ---------------------------------------------------------------- agent: files

export interface FileInfo {
  name: string;
  path: string;
  size: number;
  isDirectory: boolean;
  modifiedTime: string | null;
  permissions: string | null;
}

export interface WriteFileOptions {
  /** Octal string, default `"0644"`. */
  mode?: string;
  /** Default true. */
  overwrite?: boolean;
}

export interface WatchStatusHooks {
  /** The agent watches `path` now: changes from here on are reported. */
  watching?(path: string): void;
  /** The agent refused the watch (e.g. DIRECTORY_NOT_FOUND) or dropped events. */
  error?(message: string, code: string | null): void;
}

export interface FileChangeEvent {
  path: string;
  event: 'created' | 'modified' | 'deleted' | 'renamed' | (string & {});
  timestamp: string | null;
}

// ---------------------------------------------------------------- agent: env, metrics, info

export interface MetricsSnapshot {
  uptimeSeconds: number | null;
  cpu: { usagePercent: number | null; cores: number | null } | null;
  memory: { totalBytes: number | null; usedBytes: number | null; usagePercent: number | null } | null;
  disk: { totalBytes: number | null; usedBytes: number | null; usagePercent: number | null } | null;
  processes: { count: number | null; running: number | null } | null;
  totalExecutions: number | null;
  activeExecutions: number | null;
  totalRequests: number | null;
  totalErrors: number | null;
  /** The raw JSON body, for fields not mapped above. */
  raw: Record<string, unknown>;
}

export interface AgentInfo {
  agent: string | null;
  version: string | null;
  vmId: string | null;
  os: string | null;
  arch: string | null;
  uptimeSeconds: number | null;
  languages: string[];
  raw: Record<string, unknown>;
}

export interface AgentHealth {
  healthy: boolean;
  status: string;
  version: string | null;
  raw: Record<string, unknown>;
}

export interface CacheStats {
  size: number | null;
  hits: number | null;
  misses: number | null;
  hitRate: number | null;
  raw: Record<string, unknown>;
}

export interface CacheClearResult {
  message: string | null;
  entriesRemoved: number | null;
}

export interface AgentPing {
  /** `pong` (agent 3.1.1 text), or the main value of the JSON reply (3.2.x). */
  reply: string;
  /** The JSON body, or null for a text reply. */
  raw: Record<string, unknown> | null;
}

export interface UsageFigures {
  totalBytes: number | null;
  usedBytes: number | null;
  freeBytes: number | null;
  usagePercent: number | null;
}

/** GET /system in either documented shape (agent 3.1.1 usage figures, or 3.2.x host description). */
export interface AgentSystemInfo {
  os: { name: string | null; version: string | null; kernel: string | null; arch: string | null } | null;
  hostname: string | null;
  cpuCores: number | null;
  cpuModel: string | null;
  cpuUsagePercent: number | null;
  memory: UsageFigures | null;
  disk: UsageFigures | null;
  uptimeSeconds: number | null;
  /** Tool names the 3.2.x shape lists under `capabilities`. */
  capabilities: string[];
  raw: Record<string, unknown>;
}

/** GET / on the agent: API information (untyped in the spec). */
export interface AgentApiInfo {
  name: string | null;
  version: string | null;
  /** "METHOD /path" strings, from a map or a list. */
  endpoints: string[];
  raw: Record<string, unknown>;
}

/** GET /cache: per the docs, agent status rather than cache figures. */
export interface AgentCacheStatus {
  agent: string | null;
  status: string | null;
  version: string | null;
  vmId: string | null;
  message: string | null;
  timestamp: string | null;
  raw: Record<string, unknown>;
}

// ---------------------------------------------------------------- the client surface

export interface SandboxesApi {
  /** POST /v1/sandboxes. Never retried. Also PATCHes env_vars to the agent, as the SDKs do. */
  create(options: CreateSandboxOptions, call?: CallOptions): Promise<SandboxInfo>;
  get(sandboxId: string, call?: CallOptions): Promise<SandboxInfo>;
  /** GET; refuse stopped; resume paused; refresh the agent token. */
  connect(sandboxId: string, call?: CallOptions): Promise<SandboxInfo>;
  list(options?: ListSandboxesOptions, call?: CallOptions): Promise<SandboxPage>;
  /** Follows next_cursor while has_more. */
  listAll(options?: Omit<ListSandboxesOptions, 'cursor'>, call?: CallOptions): AsyncIterable<SandboxInfo>;
  start(sandboxId: string, call?: CallOptions): Promise<SandboxStateChange>;
  stop(sandboxId: string, call?: CallOptions): Promise<SandboxStateChange>;
  pause(sandboxId: string, call?: CallOptions): Promise<SandboxStateChange>;
  resume(sandboxId: string, call?: CallOptions): Promise<SandboxStateChange>;
  /** DELETE /v1/sandboxes/{id}. Resolves false when the sandbox was already gone. */
  kill(sandboxId: string, call?: CallOptions): Promise<boolean>;
  setTimeout(sandboxId: string, timeoutSeconds: number, call?: CallOptions): Promise<SandboxTimeout>;
  /** New agent JWT, kept in the client's token cache. */
  refreshToken(sandboxId: string, call?: CallOptions): Promise<AgentTokenInfo>;
  /** POST /v1/sandboxes/{id}/kill (documented, unused by the SDKs); `kill` (DELETE) is the usual form. */
  forceKill(sandboxId: string, call?: CallOptions): Promise<SandboxStateChange>;
  /** SSE GET /v1/sandboxes/{id}/metrics/stream: one snapshot per `data:` event; ends when the signal aborts. */
  metricsStream(sandboxId: string, call?: CallOptions): AsyncIterable<MetricsSnapshot>;
}

export interface TemplatesApi {
  list(options?: ListTemplatesOptions, call?: CallOptions): Promise<TemplateInfo[]>;
  /** Name or numeric id. */
  get(nameOrId: string, call?: CallOptions): Promise<TemplateInfo>;
  /** DELETE /v1/templates/{id}: organisation-owned templates only (403 for public ones). */
  delete(templateId: string, call?: CallOptions): Promise<TemplateDeleteResult>;
  /** POST /v1/templates/files/upload-link (build step 1). */
  getUploadLink(options: TemplateUploadLinkOptions, call?: CallOptions): Promise<TemplateUploadLink>;
  /** POST /v1/templates/build → 201. Never retried. */
  build(request: TemplateBuildRequest, call?: CallOptions): Promise<TemplateBuild>;
  buildStatus(buildId: string, call?: CallOptions): Promise<TemplateBuildStatus>;
  /** The SDKs' JSON poll form: GET /v1/templates/build/{templateId}/logs?offset=N. */
  buildLogs(templateId: string, options?: { offset?: number }, call?: CallOptions): Promise<TemplateBuildLogs>;
}

/** Live output of a streamed run, chunk by chunk as the agent sends it. */
export type OutputCallback = (stream: 'stdout' | 'stderr', chunk: string) => void;

export interface CodeApi {
  run(options: RunCodeOptions, call?: CallOptions): Promise<ExecutionResult>;
  /**
   * run() through the /execute/stream socket: output reaches `onOutput` as it is printed, and the
   * same ExecutionResult comes at the end. Aborting `call.signal` closes the socket, which stops
   * the run on agents that stop on close (docs/long-calls.md).
   */
  runStreaming(options: RunCodeOptions, onOutput: OutputCallback, call?: CallOptions): Promise<ExecutionResult>;
  runBackground(options: RunBackgroundOptions, call?: CallOptions): Promise<BackgroundProcessHandle>;
  /** WebSocket /execute/stream; ends after the `complete` event. */
  stream(options: RunCodeOptions, call?: CallOptions): AsyncIterable<StreamEvent>;
  /** POST /execute/rich (agent 3.1.1): /execute plus `rich_outputs[]`. */
  runRich(options: RunRichOptions, call?: CallOptions): Promise<RichExecutionResult>;
  /** POST /execute/ipython (agent 3.1.1). */
  runIpython(options: RunIpythonOptions, call?: CallOptions): Promise<ExecutionResult>;
  /** POST /execute/async: queued, result POSTed to callbackUrl. Never retried. */
  runAsync(options: RunAsyncOptions, call?: CallOptions): Promise<AsyncExecutionHandle>;
}

export interface ProcessesApi {
  /** Background runs and background commands (GET /execute/processes). */
  list(call?: CallOptions): Promise<BackgroundProcess[]>;
  /** One background process, or null when the agent lists none with that id. */
  get(processId: string, call?: CallOptions): Promise<BackgroundProcess | null>;
  /** Kill a background process, trying the four wire forms in turn. */
  kill(processId: string, call?: CallOptions): Promise<{ processId: string; status: string }>;
  /** OS processes in the sandbox (GET /processes). */
  listSystem(call?: CallOptions): Promise<SystemProcess[]>;
  /** GET /jupyter/sessions. */
  jupyterSessions(call?: CallOptions): Promise<JupyterSession[]>;
}

export interface CommandsApi {
  run(options: RunCommandOptions, call?: CallOptions): Promise<CommandResult>;
  /** The command as bash code through /execute/stream: live output, stopped by closing (see CodeApi.runStreaming). */
  runStreaming(options: RunCommandOptions, onOutput: OutputCallback, call?: CallOptions): Promise<CommandResult>;
  runBackground(options: RunCommandOptions & { name?: string }, call?: CallOptions): Promise<BackgroundProcessHandle>;
}

export interface FilesApi {
  read(path: string, call?: CallOptions): Promise<string>;
  readBytes(path: string, call?: CallOptions): Promise<Buffer>;
  write(path: string, content: string, options?: WriteFileOptions, call?: CallOptions): Promise<void>;
  writeBytes(path: string, data: Uint8Array, options?: WriteFileOptions, call?: CallOptions): Promise<void>;
  list(path?: string, call?: CallOptions): Promise<FileInfo[]>;
  exists(path: string, call?: CallOptions): Promise<boolean>;
  remove(path: string, call?: CallOptions): Promise<void>;
  mkdir(path: string, call?: CallOptions): Promise<void>;
  /** Multipart upload streamed from a local file or a byte stream (never buffered whole). */
  upload(
    destinationPath: string,
    source: { localPath: string } | { stream: AsyncIterable<Uint8Array>; filename: string; size?: number },
    call?: CallOptions,
  ): Promise<void>;
  /** Streams the file's bytes (GET /files/download). */
  download(path: string, call?: CallOptions): Promise<AsyncIterable<Uint8Array>>;
  /** WebSocket /files/watch; ends when the signal aborts. `status` hears when the watch is in place, and errors. */
  watch(path: string, call?: CallOptions, status?: WatchStatusHooks): AsyncIterable<FileChangeEvent>;
}

export interface EnvApi {
  getAll(call?: CallOptions): Promise<Record<string, string>>;
  /** PUT /env: replace all custom variables. */
  replace(vars: Record<string, string>, call?: CallOptions): Promise<void>;
  /** PATCH /env with merge:true. */
  merge(vars: Record<string, string>, call?: CallOptions): Promise<void>;
  /** Delete one variable (DELETE /env/{key}, falling back to GET + PUT). */
  delete(key: string, call?: CallOptions): Promise<void>;
  /** DELETE /env: clear all custom variables. */
  clear(call?: CallOptions): Promise<void>;
}

export interface TerminalSession {
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Output chunks until the shell exits. */
  output(): AsyncIterable<string>;
  /** Resolves with the shell's exit code. */
  exited: Promise<number | null>;
  close(): void;
}

// ---- desktop (docs/hopx-wire.md §5.14)

export interface DesktopImage {
  data: Buffer;
  mimeType: string;
  /** From the response or the PNG header; null when neither says. */
  width: number | null;
  height: number | null;
}

export interface DesktopRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type MouseButton = 'left' | 'middle' | 'right';
export type ScrollDirection = 'up' | 'down' | 'left' | 'right';

export interface VncInfo {
  running: boolean;
  display: string | null;
  port: number | null;
  /** The agent's URL for it, when it gives one (preview URLs are the client's previewUrl). */
  url: string | null;
}

export interface DesktopWindow {
  id: string;
  title: string;
  x: number | null;
  y: number | null;
  width: number | null;
  height: number | null;
  desktop: number | null;
  pid: number | null;
}

export interface DisplayInfo {
  width: number | null;
  height: number | null;
  depth: number | null;
}

export interface RecordingInfo {
  recordingId: string | null;
  status: string | null;
  durationSeconds: number | null;
  fileSize: number | null;
}

export interface ElementBounds {
  x: number;
  y: number;
  width: number;
  height: number;
}


/** Desktop automation (docs/hopx-wire.md §5.14); implemented by desktop.ts, which says which wire forms each method tries. */
export interface DesktopApi {
  screenshot(call?: CallOptions): Promise<DesktopImage>;
  screenshotRegion(region: DesktopRegion, call?: CallOptions): Promise<DesktopImage>;
  captureWindow(windowId?: string, call?: CallOptions): Promise<DesktopImage>;
  click(o: { x: number; y: number; button?: MouseButton; clicks?: number }, call?: CallOptions): Promise<void>;
  move(o: { x: number; y: number }, call?: CallOptions): Promise<void>;
  drag(o: { fromX: number; fromY: number; toX: number; toY: number; button?: MouseButton }, call?: CallOptions): Promise<void>;
  scroll(o: { amount: number; direction?: ScrollDirection; x?: number; y?: number }, call?: CallOptions): Promise<void>;
  type(text: string, options?: { delayMs?: number }, call?: CallOptions): Promise<void>;
  press(key: string, call?: CallOptions): Promise<void>;
  combination(keys: string[], call?: CallOptions): Promise<void>;
  getClipboard(call?: CallOptions): Promise<string>;
  setClipboard(text: string, call?: CallOptions): Promise<void>;
  clipboardHistory(call?: CallOptions): Promise<string[]>;
  windows(call?: CallOptions): Promise<DesktopWindow[]>;
  focusWindow(windowId: string, call?: CallOptions): Promise<void>;
  closeWindow(windowId: string, call?: CallOptions): Promise<void>;
  minimizeWindow(windowId: string, call?: CallOptions): Promise<void>;
  resizeWindow(windowId: string, width: number, height: number, call?: CallOptions): Promise<void>;
  display(call?: CallOptions): Promise<DisplayInfo>;
  resolutions(call?: CallOptions): Promise<Array<[number, number]>>;
  setResolution(width: number, height: number, call?: CallOptions): Promise<DisplayInfo>;
  vncStart(options?: { password?: string; display?: number }, call?: CallOptions): Promise<VncInfo>;
  vncStop(call?: CallOptions): Promise<void>;
  vncStatus(call?: CallOptions): Promise<VncInfo>;
  recordingStart(options?: { outputFile?: string; fps?: number; format?: string; quality?: string }, call?: CallOptions): Promise<RecordingInfo>;
  recordingStop(recordingId?: string, call?: CallOptions): Promise<RecordingInfo>;
  recordingStatus(recordingId?: string, call?: CallOptions): Promise<RecordingInfo>;
  recordingDownload(recordingId: string, call?: CallOptions): Promise<Buffer>;
  ocr(region: DesktopRegion & { language?: string }, call?: CallOptions): Promise<string>;
  findElement(text: string, call?: CallOptions): Promise<ElementBounds | null>;
  waitFor(text: string, timeoutSeconds?: number, call?: CallOptions): Promise<ElementBounds | null>;
  getBounds(text: string, call?: CallOptions): Promise<ElementBounds | null>;
  debugLogs(call?: CallOptions): Promise<string[]>;
  debugProcesses(call?: CallOptions): Promise<Array<{ pid: number | null; name: string; command: string }>>;
}

export interface SandboxAgent {
  readonly sandboxId: string;
  /** Desktop automation (§5.14): needs a sandbox from a desktop template. */
  readonly desktop: DesktopApi;
  readonly code: CodeApi;
  readonly processes: ProcessesApi;
  readonly commands: CommandsApi;
  readonly files: FilesApi;
  readonly env: EnvApi;
  health(call?: CallOptions): Promise<AgentHealth>;
  info(call?: CallOptions): Promise<AgentInfo>;
  /** /metrics/snapshot: system usage (CPU, memory, disk, processes) and the agent's own counters. */
  metrics(call?: CallOptions): Promise<MetricsSnapshot>;
  cacheStats(call?: CallOptions): Promise<CacheStats>;
  clearCache(call?: CallOptions): Promise<CacheClearResult>;
  /**
   * Public URL for a port inside the sandbox. HopX cloud: derived from public_host
   * (`https://<port>-<id>.<region>.vms.hopx.dev/`). Local backend: asks the control plane, which
   * opens a loopback forward (POST /v1/sandboxes/{id}/ports/{port}, a local-backend extension).
   */
  previewUrl(port: number, call?: CallOptions): Promise<string>;
  /** WebSocket /terminal. */
  terminal(call?: CallOptions): Promise<TerminalSession>;
  /** GET /ping: text `pong` or a JSON object. */
  ping(call?: CallOptions): Promise<AgentPing>;
  /** GET /system, either documented shape. */
  system(call?: CallOptions): Promise<AgentSystemInfo>;
  /** GET / (API information and endpoint list). */
  apiInfo(call?: CallOptions): Promise<AgentApiInfo>;
  /** GET /metrics/prometheus: the Prometheus text exposition, as is. */
  prometheusMetrics(call?: CallOptions): Promise<string>;
  /** GET /metrics (legacy JSON, mapped like /metrics/snapshot). */
  legacyMetrics(call?: CallOptions): Promise<MetricsSnapshot>;
  /** GET /cache (agent status per the docs). */
  cacheStatus(call?: CallOptions): Promise<AgentCacheStatus>;
}

export interface HopxClientOptions {
  /** Default: env HOPX_API_KEY. */
  apiKey?: string;
  /** Control-plane base URL. Default: env HOPX_BASE_URL, else https://api.hopx.dev. */
  baseUrl?: string;
  /** Default per-request timeout for control-plane and agent calls, ms. Default 60 000. */
  requestTimeoutMs?: number;
  /** Retries for idempotent requests (GET/PUT/DELETE and 429/503 with Retry-After). Default 2. */
  maxRetries?: number;
  /** Base backoff delay in ms (doubles per attempt, with jitter). Default 1000. */
  retryBaseDelayMs?: number;
  /** Cap on one backoff delay in ms. Default 10 000. */
  maxRetryDelayMs?: number;
  /** Longest server-requested wait (Retry-After) the client sleeps through before retrying. Default 60. */
  maxRetryAfterSeconds?: number;
  /** Refresh the agent token when less than this many ms remain. Default 1 h. */
  tokenRefreshThresholdMs?: number;
  /** Largest response body buffered in memory (JSON, text, readBytes), bytes. Default 256 MiB. */
  maxResponseBytes?: number;
  /** Structured logger; the client never writes to stdout. Secrets are never passed to it. */
  logger?: ClientLogger;
  /**
   * A connection pool shared with other clients (from `createConnectionPool()`); its maker closes
   * it. Default: the client's own pool, closed by `close()`.
   */
  pool?: import('undici').Dispatcher;
}

export interface ClientLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** The HopxClient facade (src/client/index.ts implements it). */
export interface HopxClientApi {
  readonly sandboxes: SandboxesApi;
  readonly templates: TemplatesApi;
  /** GET /health on the control plane (no auth). */
  health(call?: CallOptions): Promise<ControlPlaneHealth>;
  /**
   * The agent of one sandbox. Cheap and synchronous: public_host and the token are resolved on
   * first use (from the create/connect cache, else GET + token refresh).
   */
  agent(sandboxId: string): SandboxAgent;
  /** Closes the HTTP pool and open sockets. */
  close(): Promise<void>;
}
