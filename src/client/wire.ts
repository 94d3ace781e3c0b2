/**
 * Wire → domain mappers, one per HopX object. HopX's own SDKs and OpenAPI files disagree on many
 * field names (docs/hopx-wire.md §9), so every mapper accepts every known spelling and turns missing
 * values into null rather than failing. Only a missing identity (a sandbox without an id) is an
 * error, because nothing sensible can be done with such an object.
 */
import { HopxError } from './errors.js';
import type {
  AgentApiInfo,
  AgentCacheStatus,
  AgentHealth,
  AgentInfo,
  AgentPing,
  AgentSystemInfo,
  AsyncExecutionHandle,
  BackgroundEndReason,
  BackgroundProcess,
  BackgroundProcessHandle,
  CacheClearResult,
  CacheStats,
  CommandResult,
  ControlPlaneHealth,
  ExecutionResult,
  FileChangeEvent,
  FileInfo,
  JupyterSession,
  MetricsSnapshot,
  KeptOutputs,
  MimeBundle,
  RichExecutionResult,
  RichOutput,
  SandboxInfo,
  SandboxPage,
  SandboxResources,
  StreamEvent,
  SystemProcess,
  TemplateBuild,
  TemplateBuildLogs,
  TemplateBuildStatus,
  TemplateDeleteResult,
  TemplateInfo,
  TemplateResources,
  TemplateUploadLink,
  UsageFigures,
} from './types.js';

export type Json = Record<string, unknown>;

export function asRecord(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

export function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** Strings, and numbers HopX sometimes sends where a string is documented (template ids). */
export function idString(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return str(value);
}

export function num(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

function bool(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

function first(body: Json, ...keys: string[]): unknown {
  for (const key of keys) {
    if (body[key] !== undefined && body[key] !== null) return body[key];
  }
  return undefined;
}

function array(value: unknown): unknown[] {
  return Array.isArray(value) ? value.filter((item) => item !== null && item !== undefined) : [];
}

/** The items of a list response: a bare array, or the array under the first of `keys` present. */
function listItems(value: unknown, ...keys: string[]): unknown[] {
  return array(Array.isArray(value) ? value : first(asRecord(value), ...keys));
}

/** public_host is used verbatim (minus a trailing slash); direct_url is the fallback (§4.2). */
function agentBaseUrl(body: Json): string {
  const raw = str(body.public_host) ?? str(body.direct_url) ?? '';
  if (raw === '') return '';
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  return withScheme.replace(/\/+$/, '');
}

function sandboxResources(value: unknown): SandboxResources | null {
  const r = asRecord(value);
  if (Object.keys(r).length === 0) return null;
  const diskMb = num(r.disk_mb) ?? (num(r.disk_gb) === null ? null : num(r.disk_gb)! * 1024);
  return { vcpu: num(r.vcpu) ?? 0, memoryMb: num(r.memory_mb) ?? 0, diskMb: diskMb ?? 0 };
}

export function toSandboxInfo(value: unknown): SandboxInfo {
  const body = asRecord(value);
  const id = idString(first(body, 'id', 'sandbox_id', 'sandboxId'));
  if (!id) {
    throw new HopxError('HopX returned a sandbox without an id; the response does not look like the HopX API. Check HOPX_BASE_URL.');
  }
  return {
    id,
    status: str(body.status) ?? 'unknown',
    templateId: idString(body.template_id),
    templateName: str(body.template_name),
    region: str(body.region),
    publicHost: agentBaseUrl(body),
    directUrl: str(body.direct_url),
    previewUrl: str(body.preview_url),
    resources: sandboxResources(body.resources),
    internetAccess: bool(body.internet_access),
    timeoutSeconds: num(body.timeout_seconds),
    expiresAt: str(body.expires_at),
    createdAt: str(body.created_at),
    requestId: str(body.request_id),
  };
}

export function toSandboxPage(value: unknown): SandboxPage {
  const body = asRecord(value);
  const items = array(first(body, 'data', 'sandboxes'));
  const nextCursor = str(body.next_cursor);
  return {
    sandboxes: items.map(toSandboxInfo),
    hasMore: bool(body.has_more) ?? false,
    nextCursor,
  };
}

/** The agent token from a create / refresh body; both fields must be present (as in both SDKs). */
export function toToken(value: unknown): { token: string; expiresAt: string } | null {
  const body = asRecord(value);
  const token = str(body.auth_token);
  const expiresAt = str(body.token_expires_at);
  return token && expiresAt ? { token, expiresAt } : null;
}

function templateResources(value: unknown): TemplateResources | null {
  const r = asRecord(value);
  if (Object.keys(r).length === 0) return null;
  const diskGb = num(r.disk_gb) ?? (num(r.disk_mb) === null ? null : num(r.disk_mb)! / 1024);
  return { vcpu: num(r.vcpu), memoryMb: num(r.memory_mb), diskGb };
}

export function toTemplateInfo(value: unknown): TemplateInfo {
  const body = asRecord(value);
  const id = idString(body.id) ?? '';
  const name = str(body.name) ?? id;
  return {
    id,
    name,
    displayName: str(body.display_name),
    description: str(body.description),
    category: str(body.category),
    language: str(body.language),
    features: array(body.features).filter((f): f is string => typeof f === 'string'),
    status: str(body.status),
    isActive: bool(body.is_active),
    isPublic: bool(body.is_public),
    defaultResources: templateResources(body.default_resources),
  };
}

export function toTemplateList(value: unknown): TemplateInfo[] {
  const items = listItems(value, 'data', 'templates');
  return items.map(toTemplateInfo);
}

export function toControlPlaneHealth(value: unknown): ControlPlaneHealth {
  const body = asRecord(value);
  const status = str(body.status) ?? 'unknown';
  return { ok: status === 'ok' || status === 'healthy', status, details: body };
}

// ------------------------------------------------------------------------------ agent: code

/** A wire value as text: strings as they are, anything else as JSON (never "[object Object]"). */
function jsonText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const RICH_FIELDS: ReadonlyArray<[field: string, mimeType: string]> = [
  ['png', 'image/png'],
  ['svg', 'image/svg+xml'],
  ['html', 'text/html'],
  ['markdown', 'text/markdown'],
  ['json', 'application/json'],
];

/** One `rich_outputs[]` entry: `{type, data}` where data is a string or a MIME bundle. */
function richOutputEntry(value: unknown): RichOutput[] {
  const entry = asRecord(value);
  const type = str(entry.type) ?? str(entry.mime_type);
  const data = entry.data;
  if (typeof data === 'string' && type) return [{ mimeType: normalizeMime(type), data }];
  const bundle = asRecord(data);
  const out: RichOutput[] = [];
  // `data` is a MIME bundle ({"text/html": ...}) only when its keys are MIME types; otherwise it is
  // the content itself ([PY-gen] `{type: "application/vnd.dataframe+json", format: "json", data: {...}}`).
  const keys = Object.keys(bundle);
  const isBundle = keys.length > 0 && keys.every((key) => key.includes('/'));
  for (const [mime, content] of isBundle ? Object.entries(bundle) : []) {
    if (content !== undefined && content !== null) {
      out.push({ mimeType: normalizeMime(mime), data: jsonText(content) });
    }
  }
  if (out.length === 0 && type && data !== undefined && data !== null) {
    out.push({ mimeType: normalizeMime(type), data: jsonText(data) });
  }
  return out;
}

function normalizeMime(type: string): string {
  return type === 'image' ? 'image/png' : type;
}

/**
 * The rich outputs of an execute response as MIME bundles. The local backend sends them as they
 * are (`mime_bundles`, an extension of the wire); HopX agents send each output flattened into the
 * `png/svg/html/markdown/json` fields and `rich_outputs[]` (entries that repeat a field), and the
 * last expression's text as `result`. This is the one place those variants become bundles, and
 * the one place a repeated representation is dropped.
 */
function toMimeBundles(body: Json, stdout: string): MimeBundle[] {
  const sent = array(body.mime_bundles);
  if (sent.length > 0) {
    return sent.flatMap((entry) => {
      const e = asRecord(entry);
      const data: Record<string, string> = {};
      for (const [mime, value] of Object.entries(asRecord(e.data))) {
        if (typeof value === 'string' && mime.includes('/')) data[mime] = value;
      }
      return Object.keys(data).length > 0 ? [{ kind: e.kind === 'result' ? ('result' as const) : ('display' as const), data }] : [];
    });
  }
  const bundles: MimeBundle[] = [];
  const seen = (mime: string, data: string) => bundles.some((b) => b.data[mime] === data);
  for (const entry of array(body.rich_outputs)) {
    const data: Record<string, string> = {};
    for (const output of richOutputEntry(entry)) if (!seen(output.mimeType, output.data)) data[output.mimeType] = output.data;
    if (Object.keys(data).length > 0) bundles.push({ kind: 'display', data });
  }
  // A flat field is the first output of its type; which fields came from one output is not said,
  // so each is a bundle of its own.
  const fields: MimeBundle[] = [];
  for (const [field, mimeType] of RICH_FIELDS) {
    const value = body[field];
    if (value === undefined || value === null || value === '') continue;
    const data = jsonText(value);
    if (!seen(mimeType, data)) fields.push({ kind: 'display', data: { [mimeType]: data } });
  }
  bundles.unshift(...fields);
  const result = str(body.result);
  if (result !== null && result !== stdout && result.trim() !== stdout.trim()) bundles.push({ kind: 'result', data: { 'text/plain': result } });
  return bundles;
}

/**
 * `kept_outputs: {stdout: {path, bytes, lines}}`; `path: null` says the agent cut that stream and
 * could not keep it whole. Entries with any other path (missing, relative) are ignored.
 */
function toKeptOutputs(value: unknown): KeptOutputs {
  const body = asRecord(value);
  const out: KeptOutputs = {};
  for (const stream of ['stdout', 'stderr'] as const) {
    const entry = asRecord(body[stream]);
    const path = entry.path === null ? null : str(entry.path);
    if (path === null ? entry.path === null : path.startsWith('/')) out[stream] = { path, bytes: num(entry.bytes) ?? 0, lines: num(entry.lines) ?? 0 };
  }
  return out;
}

export function toExecutionResult(value: unknown): ExecutionResult {
  const body = asRecord(value);
  const stdout = typeof body.stdout === 'string' ? body.stdout : '';
  const exitCode = num(body.exit_code) ?? (body.success === false ? 1 : 0);
  return {
    success: bool(body.success) ?? exitCode === 0,
    stdout,
    stderr: typeof body.stderr === 'string' ? body.stderr : '',
    exitCode,
    executionTimeSeconds: num(body.execution_time),
    language: str(body.language),
    result: str(body.result),
    outputs: toMimeBundles(body, stdout),
    keptOutputs: toKeptOutputs(body.kept_outputs),
  };
}

export function toBackgroundHandle(value: unknown): BackgroundProcessHandle {
  const body = asRecord(value);
  const processId = idString(first(body, 'process_id', 'id'));
  if (!processId) {
    throw new HopxError('The sandbox agent started a background process but returned no process_id; cannot track it.');
  }
  return {
    processId,
    executionId: idString(body.execution_id),
    status: str(body.status) ?? 'running',
    name: str(body.name),
  };
}

function toBackgroundProcess(value: unknown): BackgroundProcess {
  const body = asRecord(value);
  return {
    processId: idString(first(body, 'process_id', 'id')) ?? '',
    executionId: idString(body.execution_id),
    name: str(body.name),
    status: str(body.status) ?? 'unknown',
    language: str(body.language),
    pid: num(body.pid),
    exitCode: num(body.exit_code),
    startedAt: str(first(body, 'start_time', 'started_at')),
    endedAt: str(first(body, 'end_time', 'completed_at', 'ended_at')),
    durationSeconds: num(first(body, 'duration', 'execution_time')),
    stdout: typeof body.stdout === 'string' ? body.stdout : null,
    stderr: typeof body.stderr === 'string' ? body.stderr : null,
    endReason: toEndReason(body),
    signal: str(body.signal),
    timeoutSeconds: num(body.timeout_seconds),
    keptOutputs: toKeptOutputs(body.kept_outputs),
  };
}

const END_REASONS: readonly BackgroundEndReason[] = ['exited', 'signal', 'timeout', 'killed', 'oom', 'sandbox_stopped'];

/** `end_reason` (local backend extension); else `timed_out: true` says a timeout; else unknown. */
function toEndReason(body: Record<string, unknown>): BackgroundEndReason | null {
  const reason = str(body.end_reason);
  if (reason && (END_REASONS as readonly string[]).includes(reason)) return reason as BackgroundEndReason;
  return body.timed_out === true ? 'timeout' : null;
}

export function toBackgroundProcessList(value: unknown): BackgroundProcess[] {
  const items = listItems(value, 'processes');
  return items.map(toBackgroundProcess);
}

function toSystemProcess(value: unknown): SystemProcess {
  const body = asRecord(value);
  return {
    pid: num(body.pid) ?? 0,
    name: str(body.name),
    command: str(first(body, 'command', 'cmdline')),
    user: str(body.user),
    status: str(body.status),
    cpuPercent: num(body.cpu_percent),
    memoryMb: num(body.memory_mb),
  };
}

export function toSystemProcessList(value: unknown): SystemProcess[] {
  const items = listItems(value, 'processes');
  return items.map(toSystemProcess);
}

export function toCommandResult(value: unknown): CommandResult {
  const body = asRecord(value);
  const exitCode = num(body.exit_code) ?? (body.success === false ? 1 : 0);
  return {
    success: bool(body.success) ?? exitCode === 0,
    stdout: typeof body.stdout === 'string' ? body.stdout : '',
    stderr: typeof body.stderr === 'string' ? body.stderr : '',
    exitCode,
    executionTimeSeconds: num(body.execution_time),
    pid: num(body.pid),
    keptOutputs: toKeptOutputs(body.kept_outputs),
  };
}

// ------------------------------------------------------------------------------ agent: files

function toFileInfo(value: unknown): FileInfo {
  const body = asRecord(value);
  const path = str(body.path) ?? '';
  const name = str(body.name) ?? path.split('/').filter(Boolean).pop() ?? path;
  const permissions = first(body, 'permissions', 'mode');
  const isDirectory =
    bool(first(body, 'is_directory', 'is_dir', 'isDirectory', 'isDir')) ?? (str(body.type) === 'directory');
  return {
    name,
    path,
    size: num(body.size) ?? 0,
    isDirectory,
    modifiedTime: str(first(body, 'modified_time', 'modified', 'mod_time', 'modTime')),
    permissions: permissions === undefined ? null : jsonText(permissions),
  };
}

export function toFileList(value: unknown): FileInfo[] {
  const items = listItems(value, 'files');
  return items.map(toFileInfo);
}

export function toFileChangeEvent(value: unknown): FileChangeEvent | null {
  const body = asRecord(value);
  if (body.type !== undefined && body.type !== 'change') return null;
  const path = str(body.path);
  const event = str(first(body, 'event', 'action'));
  if (!path || !event) return null;
  return { path, event, timestamp: str(body.timestamp) };
}

// ------------------------------------------------------------------------------ agent: streams

export function toStreamEvent(value: unknown): StreamEvent | null {
  const body = asRecord(value);
  switch (body.type) {
    case 'stdout':
    case 'stderr':
      return { type: body.type, data: jsonText(body.data ?? '') };
    case 'result':
      return { type: 'result', exitCode: num(body.exit_code) ?? 0, executionTimeSeconds: num(body.execution_time) };
    case 'error':
      return { type: 'error', error: str(body.error) ?? str(body.message) ?? 'unknown error', code: str(body.code) };
    case 'complete':
      return { type: 'complete', success: bool(body.success) ?? false };
    default:
      return null;
  }
}

// ------------------------------------------------------------------------------ agent: metrics, info

function usage(value: unknown, totalKey: string, usedKey: string) {
  const body = asRecord(value);
  if (Object.keys(body).length === 0) return null;
  return {
    totalBytes: num(first(body, totalKey, 'total')),
    usedBytes: num(first(body, usedKey, 'used')),
    usagePercent: num(body.usage_percent),
  };
}

export function toMetricsSnapshot(value: unknown): MetricsSnapshot {
  const body = asRecord(value);
  const system = asRecord(body.system);
  const cpuBody = asRecord(first(body, 'cpu') ?? system.cpu);
  const processBody = asRecord(first(body, 'process', 'processes'));
  return {
    uptimeSeconds: num(first(body, 'uptime_seconds', 'uptime') ?? system.uptime),
    cpu:
      Object.keys(cpuBody).length === 0
        ? null
        : { usagePercent: num(cpuBody.usage_percent), cores: num(first(cpuBody, 'cores', 'count')) },
    memory: usage(first(body, 'memory') ?? system.memory, 'total_bytes', 'used_bytes'),
    disk: usage(first(body, 'disk') ?? system.disk, 'total_bytes', 'used_bytes'),
    processes:
      Object.keys(processBody).length === 0 ? null : { count: num(processBody.count), running: num(processBody.running) },
    totalExecutions: num(body.total_executions),
    activeExecutions: num(body.active_executions),
    totalRequests: num(typeof body.total_requests === 'object' ? undefined : body.total_requests) ?? sumOrNumber(body.requests_total),
    totalErrors: num(first(body, 'total_errors', 'error_count')),
    raw: body,
  };
}

/** `requests_total` is a number in one spec and a per-endpoint map in the docs. */
function sumOrNumber(value: unknown): number | null {
  const n = num(value);
  if (n !== null) return n;
  const map = asRecord(value);
  const values = Object.values(map).map(num).filter((v): v is number => v !== null);
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0);
}

export function toAgentInfo(value: unknown): AgentInfo {
  const body = asRecord(value);
  const features = asRecord(body.features);
  const languages = array(first(body, 'languages') ?? features.languages).filter((l): l is string => typeof l === 'string');
  return {
    agent: str(body.agent),
    version: str(first(body, 'agent_version', 'version')),
    vmId: idString(body.vm_id),
    os: str(first(body, 'os', 'platform')),
    arch: str(body.arch),
    uptimeSeconds: num(first(body, 'uptime_seconds', 'uptime')),
    languages,
    raw: body,
  };
}

export function toAgentHealth(value: unknown): AgentHealth {
  const body = asRecord(value);
  const status = str(body.status) ?? 'unknown';
  return { healthy: status === 'healthy' || status === 'ok', status, version: str(body.version), raw: body };
}

export function toCacheStats(value: unknown): CacheStats {
  const body = asRecord(value);
  const cache = asRecord(body.cache);
  const source = Object.keys(cache).length > 0 ? cache : body;
  return {
    size: num(first(source, 'size', 'total_cached')),
    hits: num(first(source, 'hits', 'total_hits')),
    misses: num(source.misses),
    hitRate: num(source.hit_rate),
    raw: body,
  };
}

export function toCacheClearResult(value: unknown): CacheClearResult {
  const body = asRecord(value);
  return { message: str(body.message), entriesRemoved: num(first(body, 'entries_removed', 'cleared')) };
}

// ------------------------------------------------------------------------------ template building (§4.10, §4.11)

export function toTemplateDeleteResult(value: unknown, templateId: string): TemplateDeleteResult {
  const body = asRecord(value);
  return { id: idString(first(body, 'id', 'template_id')) ?? templateId, status: str(body.status), message: str(body.message) };
}

export function toTemplateUploadLink(value: unknown, filesHash: string): TemplateUploadLink {
  const body = asRecord(value);
  return {
    present: bool(body.present) ?? false,
    uploadUrl: str(first(body, 'upload_url', 'uploadUrl')),
    expiresAt: str(first(body, 'expires_at', 'expiresAt')),
    filesHash: str(first(body, 'files_hash', 'filesHash')) ?? filesHash,
  };
}

export function toTemplateBuild(value: unknown): TemplateBuild {
  const body = asRecord(value);
  const buildId = idString(first(body, 'build_id', 'buildId', 'id'));
  if (!buildId) throw new HopxError('HopX accepted the template build but returned no build_id; cannot follow it. Check the template list.');
  return {
    buildId,
    templateId: idString(first(body, 'template_id', 'templateId')),
    status: str(body.status) ?? 'building',
    logsUrl: str(first(body, 'logs_url', 'logsUrl')),
  };
}

export function toTemplateBuildStatus(value: unknown, buildId: string): TemplateBuildStatus {
  const body = asRecord(value);
  return {
    buildId: idString(first(body, 'build_id', 'buildId')) ?? buildId,
    templateId: idString(first(body, 'template_id', 'templateId')),
    status: str(body.status) ?? 'unknown',
    progress: num(body.progress),
    currentStep: str(first(body, 'current_step', 'currentStep')),
    startedAt: str(body.started_at),
    completedAt: str(first(body, 'completed_at', 'end_time')),
    errorMessage: str(first(body, 'error_message', 'error')),
    buildDurationMs: num(body.build_duration_ms),
    estimatedCompletion: str(body.estimated_completion),
  };
}

export function toTemplateBuildLogs(value: unknown, requestedOffset: number): TemplateBuildLogs {
  const body = asRecord(value);
  const logs = typeof body.logs === 'string' ? body.logs : array(body.logs).map(String).join('\n');
  return {
    logs,
    offset: num(body.offset) ?? requestedOffset,
    status: str(body.status),
    complete: bool(body.complete) ?? false,
  };
}

// ------------------------------------------------------------------------------ agent: more execution (§5.5, §5.9)

export function toRichExecutionResult(value: unknown): RichExecutionResult {
  const body = asRecord(value);
  const richFiles: RichExecutionResult['richFiles'] = [];
  for (const entry of array(body.rich_outputs)) {
    const e = asRecord(entry);
    const path = str(e.path);
    if (path && (e.data === undefined || e.data === null)) richFiles.push({ mimeType: normalizeMime(str(e.type) ?? 'application/octet-stream'), path });
  }
  return { ...toExecutionResult(body), richFiles };
}

export function toAsyncExecutionHandle(value: unknown): AsyncExecutionHandle {
  const body = asRecord(value);
  const executionId = idString(first(body, 'execution_id', 'id'));
  if (!executionId) throw new HopxError('The sandbox agent accepted the async run but returned no execution_id; watch the callback URL for the result.');
  return {
    executionId,
    status: str(body.status) ?? 'queued',
    callbackUrl: str(body.callback_url),
    message: str(body.message),
    timestamp: str(body.timestamp),
  };
}

export function toJupyterSessions(value: unknown): JupyterSession[] {
  const items = listItems(value, 'sessions');
  return items.map((item) => {
    const s = asRecord(item);
    const kernel = asRecord(s.kernel);
    return {
      kernelId: idString(first(s, 'kernel_id', 'id') ?? kernel.id) ?? '',
      executionState: str(first(s, 'execution_state', 'state') ?? kernel.execution_state),
      connections: num(first(s, 'connections') ?? kernel.connections),
      lastActivity: str(first(s, 'last_activity') ?? kernel.last_activity),
    };
  });
}

// ------------------------------------------------------------------------------ agent: ping, system, /, /cache (§5.3, §5.11)

/** /ping answers `pong` as text (3.1.1) or a JSON object of strings (3.2.x). */
export function toAgentPing(text: string): AgentPing {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { reply: text.trim(), raw: null };
  }
  if (typeof parsed === 'string') return { reply: parsed, raw: null };
  const body = asRecord(parsed);
  const reply = str(first(body, 'message', 'status', 'ping', 'response')) ?? text.trim();
  return { reply, raw: body };
}

function usageFigures(value: unknown): UsageFigures | null {
  const body = asRecord(value);
  if (Object.keys(body).length === 0) return null;
  return {
    totalBytes: num(first(body, 'total', 'total_bytes')),
    usedBytes: num(first(body, 'used', 'used_bytes')),
    freeBytes: num(first(body, 'free', 'free_bytes', 'available')),
    usagePercent: num(body.usage_percent),
  };
}

const MIB = 1024 * 1024;

function mbToBytes(value: unknown): number | null {
  const mb = num(value);
  return mb === null ? null : mb * MIB;
}

/** Both /system shapes: 3.1.1 `{cpu, memory, disk, uptime}` and 3.2.x `{os, hardware, network, environment, capabilities}`. */
export function toAgentSystemInfo(value: unknown): AgentSystemInfo {
  const body = asRecord(value);
  const os = asRecord(body.os);
  const hardware = asRecord(body.hardware);
  const network = asRecord(body.network);
  const cpu = asRecord(body.cpu);
  const memory =
    usageFigures(body.memory) ??
    (hardware.memory_mb === undefined ? null : { totalBytes: mbToBytes(hardware.memory_mb), usedBytes: null, freeBytes: null, usagePercent: null });
  const disk =
    usageFigures(body.disk) ??
    (hardware.disk_mb === undefined ? null : { totalBytes: mbToBytes(hardware.disk_mb), usedBytes: null, freeBytes: null, usagePercent: null });
  return {
    os:
      Object.keys(os).length === 0
        ? null
        : { name: str(os.name), version: str(os.version), kernel: str(os.kernel), arch: str(os.arch) },
    hostname: str(first(os, 'hostname') ?? network.hostname ?? body.hostname),
    cpuCores: num(first(hardware, 'cpu_cores') ?? first(cpu, 'cores', 'count')),
    cpuModel: str(first(hardware, 'cpu_model') ?? cpu.model),
    cpuUsagePercent: num(cpu.usage_percent),
    memory,
    disk,
    uptimeSeconds: num(first(body, 'uptime_seconds', 'uptime')),
    capabilities: array(body.capabilities).filter((c): c is string => typeof c === 'string'),
    raw: body,
  };
}

export function toAgentApiInfo(value: unknown): AgentApiInfo {
  const body = asRecord(value);
  const rawEndpoints = body.endpoints;
  let endpoints: string[];
  if (Array.isArray(rawEndpoints)) {
    endpoints = array(rawEndpoints).map((e) => {
      if (typeof e === 'string') return e;
      const r = asRecord(e);
      return [str(r.method), str(r.path)].filter(Boolean).join(' ');
    });
  } else {
    endpoints = Object.values(asRecord(rawEndpoints)).filter((e): e is string => typeof e === 'string');
  }
  return {
    name: str(first(body, 'name', 'agent', 'service')),
    version: str(first(body, 'version', 'agent_version')),
    endpoints: endpoints.filter((e) => e !== ''),
    raw: body,
  };
}

export function toAgentCacheStatus(value: unknown): AgentCacheStatus {
  const body = asRecord(value);
  return {
    agent: str(body.agent),
    status: str(body.status),
    version: str(first(body, 'version', 'agent_version')),
    vmId: idString(body.vm_id),
    message: str(body.message),
    timestamp: str(body.timestamp),
    raw: body,
  };
}
