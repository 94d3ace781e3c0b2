/**
 * Configuration of the `hopx-mcp` command, resolved once by a pure function:
 * defaults < `HOPX_MCP_*` environment twins < command-line flags.
 *
 * The HopX API key and the HTTP bearer token come from the environment only: a flag would put
 * them in the process list and in shell history.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { LOG_FORMATS, type LogFormat } from './log.js';
import { DEFAULT_OUTPUT_BUDGET_CHARS, TOOLSETS } from './server.js';

export const DEFAULT_HTTP_PORT = 3100;
export const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const DEFAULT_MAX_SESSIONS = 256;
const DEFAULT_SESSION_IDLE_SECONDS = 30 * 60;
const DEFAULT_MAX_SANDBOXES_PER_CALLER = 10;
const DEFAULT_MAX_CALLS_PER_CALLER = 16;
const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;

/** Enabled whatever --toolsets says. */
const ALWAYS_ON_TOOLSET = 'sandbox';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface Config {
  transport: 'stdio' | 'http';
  host: string;
  port: number;
  /** Toolsets to enable; undefined = the server's default set. */
  toolsets: string[] | undefined;
  readOnly: boolean;
  keepSandboxes: boolean;
  outputBudgetChars: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Log line format on stderr; undefined = pretty when stderr is a TTY, else json. */
  logFormat: LogFormat | undefined;
  /** Local backend state folder; undefined = the backend's default. */
  stateDir: string | undefined;
  allowUnisolated: boolean;
  /** HTTP: largest accepted request body, bytes (larger → 413). */
  maxBodyBytes: number;
  /** HTTP: most conversations held at once (2025-era sessions + 2026-era callers). */
  maxSessions: number;
  /** HTTP: a conversation unused this long is ended (its sandboxes killed). */
  sessionIdleSeconds: number;
  /** HTTP: extra Host names accepted besides loopback names and the bind host. */
  allowedHosts: string[];
  /** HTTP: Origin host names accepted from browsers besides loopback names. */
  allowedOrigins: string[];
  /** HTTP, cloud mode: every caller must bring its own HopX key (X-HopX-Api-Key). */
  requireCallerKey: boolean;
  /** HTTP: where hosted state lives: undefined = this process's memory, else a redis:// URL. */
  state: string | undefined;
  /** From HOPX_API_KEY: set = HopX cloud, unset = the local backend in process. */
  apiKey: string | undefined;
  /** From HOPX_BASE_URL. */
  baseUrl: string | undefined;
  /** From HOPX_MCP_AUTH_TOKEN: bearer token HTTP callers must present. */
  authToken: string | undefined;
  /** From HOPX_MCP_METRICS_TOKEN: bearer token GET /metrics needs (unset: /metrics is open). */
  metricsToken: string | undefined;
  /** HTTP authentication: none (loopback only), token (static bearer), oauth (resource server). */
  auth: 'none' | 'token' | 'oauth';
  /** OAuth: the authorization server's issuer URL. */
  issuer: string | undefined;
  /** OAuth: this server's canonical URL (the token audience); default the listening /mcp URL. */
  resourceUrl: string | undefined;
  /** OAuth: verify tokens by introspection with these credentials (from the environment). */
  introspection: { clientId: string; clientSecret: string } | undefined;
  /** HTTP: per-caller limits; 0 = off. */
  maxSandboxesPerCaller: number;
  maxCallsPerCaller: number;
  rateLimitPerMinute: number;
  help: boolean;
  version: boolean;
}

export type Env = Record<string, string | undefined>;

/** Bad flags or environment: the message names the flag/variable and the fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type OptionKind = 'boolean' | 'string';
interface OptionSpec {
  kind: OptionKind;
  /** One line for --help. */
  help: string;
  /** Placeholder shown in --help for string options. */
  value?: string;
  /** No HOPX_MCP_* twin (help/version). */
  noEnv?: boolean;
}

/** Every flag; each (except help/version) has an env twin HOPX_MCP_<NAME_IN_UPPER_SNAKE>. */
export const OPTIONS: Record<string, OptionSpec> = {
  http: { kind: 'boolean', help: 'serve streamable HTTP at /mcp instead of stdio' },
  host: { kind: 'string', value: 'HOST', help: `HTTP bind address (default ${DEFAULT_HOST})` },
  port: { kind: 'string', value: 'N', help: `HTTP port, 0 = any free port (default ${DEFAULT_HTTP_PORT})` },
  toolsets: { kind: 'string', value: 'LIST', help: 'comma-separated toolsets to enable, or "all" (sandbox is always on)' },
  'read-only': { kind: 'boolean', help: 'hide every tool that changes anything' },
  'keep-sandboxes': { kind: 'boolean', help: 'do not kill sandboxes when their conversation ends' },
  'output-budget': {
    kind: 'string',
    value: 'CHARS',
    help: `characters of tool output kept before cutting (default ${DEFAULT_OUTPUT_BUDGET_CHARS})`,
  },
  'log-level': { kind: 'string', value: 'LEVEL', help: `stderr log level: ${LOG_LEVELS.join('|')} (default info)` },
  'log-format': {
    kind: 'string',
    value: 'FORMAT',
    help: 'stderr log format: json (one object a line) or pretty (for people); default pretty on a terminal, else json',
  },
  'state-dir': { kind: 'string', value: 'DIR', help: 'local backend state folder' },
  'allow-unisolated': {
    kind: 'boolean',
    help: 'let the local backend run sandboxes without namespace isolation when bubblewrap cannot',
  },
  'max-body-bytes': {
    kind: 'string',
    value: 'N',
    help: `HTTP: largest request body (default ${DEFAULT_MAX_BODY_BYTES})`,
  },
  'max-sessions': { kind: 'string', value: 'N', help: `HTTP: most conversations at once (default ${DEFAULT_MAX_SESSIONS})` },
  'session-idle-seconds': {
    kind: 'string',
    value: 'N',
    help: `HTTP: end a conversation idle this long (default ${DEFAULT_SESSION_IDLE_SECONDS})`,
  },
  'allowed-hosts': { kind: 'string', value: 'LIST', help: 'HTTP: extra accepted Host names (comma-separated)' },
  'allowed-origins': { kind: 'string', value: 'LIST', help: 'HTTP: extra accepted browser Origin host names' },
  auth: {
    kind: 'string',
    value: 'MODE',
    help: 'HTTP authentication: "token" (HOPX_MCP_AUTH_TOKEN; the default when it is set) or "oauth" (needs --issuer)',
  },
  issuer: { kind: 'string', value: 'URL', help: 'OAuth: the authorization server issuer URL, exactly as it publishes it' },
  'resource-url': {
    kind: 'string',
    value: 'URL',
    help: 'OAuth: public URL of this server\'s /mcp endpoint, the audience tokens must name (default: the listening URL)',
  },
  introspect: {
    kind: 'boolean',
    help: 'OAuth: check tokens by introspection (RFC 7662) with HOPX_MCP_INTROSPECTION_CLIENT_ID/_SECRET instead of as JWTs',
  },
  'max-sandboxes-per-caller': {
    kind: 'string',
    value: 'N',
    help: `HTTP: live sandboxes per caller, 0 = no limit (default ${DEFAULT_MAX_SANDBOXES_PER_CALLER})`,
  },
  'max-calls-per-caller': {
    kind: 'string',
    value: 'N',
    help: `HTTP: requests in flight per caller, 0 = no limit (default ${DEFAULT_MAX_CALLS_PER_CALLER})`,
  },
  'rate-limit': {
    kind: 'string',
    value: 'N',
    help: `HTTP: requests per minute per caller, 0 = no limit (default ${DEFAULT_RATE_LIMIT_PER_MINUTE})`,
  },
  'require-caller-key': {
    kind: 'boolean',
    help: 'HTTP, HopX cloud: every caller must send its own key in X-HopX-Api-Key (hosted multi-user)',
  },
  state: {
    kind: 'string',
    value: 'URL',
    help: 'HTTP: shared state for several replicas, redis://[user:pass@]host:port[/db] (default: memory)',
  },
  help: { kind: 'boolean', help: 'show this help', noEnv: true },
  version: { kind: 'boolean', help: 'print the version', noEnv: true },
};

export function envName(flag: string): string {
  return `HOPX_MCP_${flag.replace(/-/g, '_').toUpperCase()}`;
}

/** Flags people may try for secrets; refused with a pointer to the environment variable. */
const SECRET_FLAGS: Record<string, string> = {
  'api-key': 'HOPX_API_KEY',
  apikey: 'HOPX_API_KEY',
  'auth-token': 'HOPX_MCP_AUTH_TOKEN',
  token: 'HOPX_MCP_AUTH_TOKEN',
  'client-secret': 'HOPX_MCP_INTROSPECTION_CLIENT_SECRET',
  'introspection-client-secret': 'HOPX_MCP_INTROSPECTION_CLIENT_SECRET',
};

function parseFlags(argv: string[]): Record<string, string | boolean> {
  for (const arg of argv) {
    const name = /^--([^=]+)/.exec(arg)?.[1];
    if (name && SECRET_FLAGS[name]) {
      throw new ConfigError(
        `--${name} is not accepted: secrets on the command line leak into the process list. ` +
          `Set the ${SECRET_FLAGS[name]} environment variable instead.`,
      );
    }
  }
  const options = Object.fromEntries(Object.entries(OPTIONS).map(([name, spec]) => [name, { type: spec.kind }]));
  try {
    const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
    return values as Record<string, string | boolean>;
  } catch (error) {
    // Node's unknown-option message goes on about positionals; name the option in our own words.
    const unknown = argv.find((arg) => arg.startsWith('-') && !Object.hasOwn(OPTIONS, arg.replace(/^--?/, '').split('=')[0]));
    const message =
      (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown
        ? `Unknown option '${unknown.split('=')[0]}'`
        : error instanceof Error
          ? error.message
          : String(error);
    throw new ConfigError(`${message}. Run hopx-mcp --help for the flags.`);
  }
}

const BOOLEAN_WORDS: Record<string, boolean> = { '1': true, true: true, yes: true, on: true, '0': false, false: false, no: false, off: false, '': false };

function envBoolean(name: string, raw: string): boolean {
  const value = BOOLEAN_WORDS[raw.trim().toLowerCase()];
  if (value === undefined) throw new ConfigError(`${name}="${raw}" is not a boolean: use 1/true/yes or 0/false/no.`);
  return value;
}

function integer(source: string, raw: string, min: number, max: number): number {
  const text = raw.trim();
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${source}="${raw}" is invalid: expected a whole number from ${min} to ${max}.`);
  }
  return value;
}

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

const urlSchema = z.url({ protocol: /^https?$/ });

/**
 * The resolved shape, checked once more as a whole. The per-field checks above already produce
 * messages that name the flag or variable; this gate catches a resolver bug, not user input.
 */
const ConfigSchema = z.strictObject({
  transport: z.enum(['stdio', 'http']),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65_535),
  toolsets: z.array(z.string().min(1)).min(1).optional(),
  readOnly: z.boolean(),
  keepSandboxes: z.boolean(),
  outputBudgetChars: z.number().int().min(1_000),
  logLevel: z.enum(LOG_LEVELS),
  logFormat: z.enum(LOG_FORMATS).optional(),
  stateDir: z.string().min(1).optional(),
  allowUnisolated: z.boolean(),
  maxBodyBytes: z.number().int().positive(),
  maxSessions: z.number().int().positive(),
  sessionIdleSeconds: z.number().int().positive(),
  allowedHosts: z.array(z.string().min(1)),
  allowedOrigins: z.array(z.string().min(1)),
  requireCallerKey: z.boolean(),
  state: z.string().min(1).optional(),
  apiKey: z.string().min(1).optional(),
  baseUrl: urlSchema.optional(),
  authToken: z.string().min(16).optional(),
  metricsToken: z.string().min(16).optional(),
  auth: z.enum(['none', 'token', 'oauth']),
  issuer: urlSchema.optional(),
  resourceUrl: urlSchema.optional(),
  introspection: z.strictObject({ clientId: z.string().min(1), clientSecret: z.string().min(1) }).optional(),
  maxSandboxesPerCaller: z.number().int().min(0),
  maxCallsPerCaller: z.number().int().min(0),
  rateLimitPerMinute: z.number().int().min(0),
  help: z.boolean(),
  version: z.boolean(),
});

/**
 * Resolves the configuration from command-line arguments (without the node binary and script)
 * and an environment. Pure: no I/O, throws ConfigError on bad input.
 *
 * @param knownToolsets toolset names accepted by --toolsets (default: TOOLSETS from src/server.ts).
 */
export function resolveConfig(argv: string[], env: Env, knownToolsets: readonly string[] = TOOLSETS): Config {
  const flags = parseFlags(argv);

  // Raw value and where it came from, flag winning over env twin.
  const pick = (name: string): { raw: string | boolean; source: string } | undefined => {
    if (flags[name] !== undefined) return { raw: flags[name], source: `--${name}` };
    const spec = OPTIONS[name];
    const fromEnv = spec.noEnv ? undefined : env[envName(name)];
    if (fromEnv !== undefined) return { raw: fromEnv, source: envName(name) };
    return undefined;
  };
  const bool = (name: string): boolean => {
    const got = pick(name);
    if (!got) return false;
    return typeof got.raw === 'boolean' ? got.raw : envBoolean(got.source, got.raw);
  };
  const str = (name: string): { raw: string; source: string } | undefined => {
    const got = pick(name);
    return got && typeof got.raw === 'string' ? { raw: got.raw, source: got.source } : undefined;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const got = str(name);
    return got ? integer(got.source, got.raw, min, max) : fallback;
  };

  const http = bool('http');
  const host = str('host');
  const port = str('port');
  const authArg = str('auth');
  const issuerArg = str('issuer');
  const resourceArg = str('resource-url');
  // A flag that only HTTP uses is a mistake on stdio; an env twin may be set for other runs.
  const stateArg = str('state');
  const httpOnlyFlag = [host, port, authArg, issuerArg, resourceArg, stateArg].find((got) => got?.source.startsWith('--'));
  if (!http && httpOnlyFlag) {
    throw new ConfigError(`${httpOnlyFlag.source} only applies to HTTP: add --http (stdio is the default).`);
  }
  if (host && !/^[A-Za-z0-9.:[\]-]+$/.test(host.raw.trim())) {
    throw new ConfigError(`${host.source}="${host.raw}" is not a host name or IP address.`);
  }

  let toolsets: string[] | undefined;
  const toolsetArg = str('toolsets');
  if (toolsetArg) {
    const names = list(toolsetArg.raw);
    if (names.length === 0) throw new ConfigError(`${toolsetArg.source} is empty: name toolsets (${knownToolsets.join(', ')}) or "all".`);
    const unknown = names.filter((name) => name !== 'all' && !knownToolsets.includes(name));
    if (unknown.length > 0) {
      throw new ConfigError(
        `${toolsetArg.source}: unknown toolset ${unknown.map((n) => `"${n}"`).join(', ')}. Known toolsets: ${knownToolsets.join(', ')} (or "all").`,
      );
    }
    // The sandbox toolset (create, connect, list, kill, ...) is always on: without it no other
    // toolset can get a sandbox to act on.
    toolsets = names.includes('all') ? [...knownToolsets] : [...new Set([ALWAYS_ON_TOOLSET, ...names])];
  }

  const level = str('log-level');
  const logLevel = (level?.raw.trim().toLowerCase() ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`${level!.source}="${level!.raw}" is not a log level: use one of ${LOG_LEVELS.join(', ')}.`);
  }

  const format = str('log-format');
  const logFormat = format?.raw.trim().toLowerCase() as LogFormat | undefined;
  if (format && !LOG_FORMATS.includes(logFormat!)) {
    throw new ConfigError(`${format.source}="${format.raw}" is not a log format: use json or pretty.`);
  }

  const stateDir = str('state-dir');
  if (stateDir && stateDir.raw.trim() === '') throw new ConfigError(`${stateDir.source} is empty: give a folder path.`);

  const baseUrl = env.HOPX_BASE_URL?.trim() || undefined;
  if (baseUrl && !urlSchema.safeParse(baseUrl).success) {
    throw new ConfigError(`HOPX_BASE_URL="${baseUrl}" is not an http(s) URL, e.g. https://api.hopx.dev.`);
  }
  const apiKey = env.HOPX_API_KEY?.trim() || undefined;
  const authToken = env.HOPX_MCP_AUTH_TOKEN?.trim() || undefined;
  if (authToken !== undefined && authToken.length < 16) {
    throw new ConfigError('HOPX_MCP_AUTH_TOKEN is too short: use at least 16 random characters (e.g. `openssl rand -hex 32`).');
  }
  const metricsToken = env.HOPX_MCP_METRICS_TOKEN?.trim() || undefined;
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('HOPX_MCP_METRICS_TOKEN is too short: use at least 16 random characters (e.g. `openssl rand -hex 32`).');
  }

  let state: string | undefined;
  if (stateArg && stateArg.raw.trim() !== '' && stateArg.raw.trim() !== 'memory') {
    const raw = stateArg.raw.trim();
    let parsed: URL | undefined;
    try {
      parsed = new URL(raw);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !['redis:', 'rediss:'].includes(parsed.protocol) || !parsed.hostname) {
      // The value may hold a password: name the source, not the value.
      throw new ConfigError(`${stateArg.source} is not a Redis URL: use redis://host:6379 (or rediss:// for TLS), or "memory".`);
    }
    if ((parsed.password || parsed.username) && stateArg.source.startsWith('--')) {
      throw new ConfigError('--state carries a password: secrets on the command line leak into the process list. Set HOPX_MCP_STATE instead.');
    }
    state = raw;
  }

  const oauth = resolveOAuth({ auth: authArg, issuer: issuerArg, resource: resourceArg, introspect: bool('introspect'), authToken, env });

  const resolved: Config = {
    transport: http ? 'http' : 'stdio',
    host: host?.raw.trim() ?? DEFAULT_HOST,
    port: int('port', DEFAULT_HTTP_PORT, 0, 65_535),
    toolsets,
    readOnly: bool('read-only'),
    keepSandboxes: bool('keep-sandboxes'),
    outputBudgetChars: int('output-budget', DEFAULT_OUTPUT_BUDGET_CHARS, 1_000, 10_000_000),
    logLevel,
    logFormat,
    stateDir: stateDir?.raw.trim(),
    allowUnisolated: bool('allow-unisolated'),
    maxBodyBytes: int('max-body-bytes', DEFAULT_MAX_BODY_BYTES, 1_024, 512 * 1024 * 1024),
    maxSessions: int('max-sessions', DEFAULT_MAX_SESSIONS, 1, 100_000),
    sessionIdleSeconds: int('session-idle-seconds', DEFAULT_SESSION_IDLE_SECONDS, 1, 7 * 24 * 3600),
    allowedHosts: list(str('allowed-hosts')?.raw ?? ''),
    allowedOrigins: list(str('allowed-origins')?.raw ?? ''),
    requireCallerKey: bool('require-caller-key'),
    state,
    apiKey,
    baseUrl,
    authToken,
    metricsToken,
    ...oauth,
    maxSandboxesPerCaller: int('max-sandboxes-per-caller', DEFAULT_MAX_SANDBOXES_PER_CALLER, 0, 100_000),
    maxCallsPerCaller: int('max-calls-per-caller', DEFAULT_MAX_CALLS_PER_CALLER, 0, 100_000),
    rateLimitPerMinute: int('rate-limit', DEFAULT_RATE_LIMIT_PER_MINUTE, 0, 10_000_000),
    help: bool('help'),
    version: bool('version'),
  };
  const checked = ConfigSchema.safeParse(resolved);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new ConfigError(`Invalid configuration at ${issue.path.join('.') || '(root)'}: ${issue.message}.`);
  }
  return resolved;
}

type Picked = { raw: string; source: string } | undefined;

/** --auth and its companions: which mode, and that the mode has what it needs. */
function resolveOAuth(o: {
  auth: Picked;
  issuer: Picked;
  resource: Picked;
  introspect: boolean;
  authToken: string | undefined;
  env: Env;
}): Pick<Config, 'auth' | 'issuer' | 'resourceUrl' | 'introspection'> {
  const mode = o.auth ? o.auth.raw.trim().toLowerCase() : o.authToken ? 'token' : 'none';
  if (mode !== 'token' && mode !== 'oauth' && mode !== 'none') {
    throw new ConfigError(`${o.auth!.source}="${o.auth!.raw}" is not an authentication mode: use "token" or "oauth".`);
  }
  const checkUrl = (got: Picked, example: string): string | undefined => {
    if (!got) return undefined;
    const value = got.raw.trim();
    if (!urlSchema.safeParse(value).success) throw new ConfigError(`${got.source}="${got.raw}" is not an http(s) URL, e.g. ${example}.`);
    return value;
  };
  const issuer = checkUrl(o.issuer, 'https://auth.example.com');
  const resourceUrl = checkUrl(o.resource, 'https://mcp.example.com/mcp');
  if (mode === 'token' && !o.authToken) {
    throw new ConfigError('--auth token needs the HOPX_MCP_AUTH_TOKEN environment variable (e.g. `export HOPX_MCP_AUTH_TOKEN=$(openssl rand -hex 32)`).');
  }
  if (mode !== 'oauth') {
    const stray = [o.issuer, o.resource].find((got) => got?.source.startsWith('--'));
    if (stray || o.introspect) throw new ConfigError(`${stray?.source ?? '--introspect'} only applies with --auth oauth.`);
    return { auth: mode, issuer: undefined, resourceUrl: undefined, introspection: undefined };
  }
  if (!issuer) throw new ConfigError('--auth oauth needs --issuer URL: the issuer identifier of your authorization server.');
  if (new URL(issuer).protocol !== 'https:' && !isLoopbackUrl(issuer)) {
    throw new ConfigError(`--issuer ${issuer} must be https (plain http is accepted only on loopback, for testing).`);
  }
  if (resourceUrl && new URL(resourceUrl).protocol !== 'https:' && !isLoopbackUrl(resourceUrl)) {
    throw new ConfigError(`--resource-url ${resourceUrl} must be https (OAuth 2.1 protects only https resources beyond loopback).`);
  }
  let introspection: Config['introspection'];
  if (o.introspect) {
    const clientId = o.env.HOPX_MCP_INTROSPECTION_CLIENT_ID?.trim();
    const clientSecret = o.env.HOPX_MCP_INTROSPECTION_CLIENT_SECRET?.trim();
    if (!clientId || !clientSecret) {
      throw new ConfigError('--introspect needs HOPX_MCP_INTROSPECTION_CLIENT_ID and HOPX_MCP_INTROSPECTION_CLIENT_SECRET: this server\'s client at the authorization server.');
    }
    introspection = { clientId, clientSecret };
  }
  return { auth: 'oauth', issuer, resourceUrl, introspection };
}

function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Text for `hopx-mcp --help`. */
export function helpText(version: string): string {
  const rows = Object.entries(OPTIONS).map(([name, spec]) => {
    const flag = `--${name}${spec.value ? ` ${spec.value}` : ''}`;
    const twin = spec.noEnv ? '' : `  [${envName(name)}]`;
    return `  ${flag.padEnd(30)}${spec.help}${twin}`;
  });
  return [
    `hopx-mcp ${version} — MCP server for HopX.ai cloud sandboxes`,
    '',
    'Usage:',
    '  hopx-mcp [flags]                     MCP over stdio (for Claude Desktop, IDEs)',
    '  hopx-mcp --http [--host H] [--port N] MCP over streamable HTTP at /mcp',
    '  hopx-mcp local-backend [--port N]    run only the local HopX-compatible backend',
    '',
    'Flags (each has an environment twin in brackets; flags win):',
    ...rows,
    '',
    'Environment:',
    '  HOPX_API_KEY          use HopX cloud with this key (unset: sandboxes run on this machine)',
    '  HOPX_BASE_URL         HopX control plane URL (default https://api.hopx.dev)',
    '  HOPX_MCP_AUTH_TOKEN   bearer token HTTP callers must send (--auth token; it or OAuth is required off loopback)',
    '  HOPX_MCP_METRICS_TOKEN   bearer token GET /metrics needs (unset: /metrics answers anyone who reaches it)',
    '  HOPX_MCP_INTROSPECTION_CLIENT_ID, HOPX_MCP_INTROSPECTION_CLIENT_SECRET   this server\'s client for --introspect',
    '',
  ].join('\n');
}
