#!/usr/bin/env node
/**
 * The `hopx-mcp` command: stdio by default, `--http` for streamable HTTP, `local-backend` for
 * the local HopX-compatible backend alone. Logs and hints go to stderr (in stdio mode stdout is
 * the MCP channel); only --help and --version, which start no server, answer on stdout.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, helpText, resolveConfig, type Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import type { Backend, BackendOptions } from './transports/backend.js';
import type { StateStore } from './state/types.js';
import type { ServeOptions } from './transports/conversations.js';
import { deferBackend } from './transports/deferred-backend.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function say(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** --help and --version answer on stdout (`$(hopx-mcp --version)` works); they never start MCP. */
function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Ready-to-paste connection hints for the HTTP endpoint. With a bearer token each line carries
 * the Authorization header, naming the variable rather than the secret (this text is logged).
 */
function connectHints(url: string, config: Config): string {
  const token = config.auth === 'token';
  const header = token ? ' --header "Authorization: Bearer $HOPX_MCP_AUTH_TOKEN"' : '';
  const cursor = token ? `, "headers": { "Authorization": "Bearer \${env:HOPX_MCP_AUTH_TOKEN}" }` : '';
  const vscode = token
    ? `{ "inputs": [{ "type": "promptString", "id": "hopx-token", "description": "HOPX_MCP_AUTH_TOKEN", "password": true }], ` +
      `"servers": { "hopx": { "type": "http", "url": "${url}", "headers": { "Authorization": "Bearer \${input:hopx-token}" } } } }`
    : `{ "servers": { "hopx": { "type": "http", "url": "${url}" } } }`;
  return [
    `Listening on ${url}`,
    'Connect a client:',
    `  Claude Code:  claude mcp add --transport http hopx ${url}${header}`,
    `  Cursor:       { "mcpServers": { "hopx": { "url": "${url}"${cursor} } } }`,
    `  VS Code:      ${vscode}`,
    `  Inspector:    npx -y @modelcontextprotocol/inspector@2.12.0 --cli ${url} --method tools/list${header}`,
    ...(config.auth === 'oauth'
      ? [`OAuth: clients find the authorization server (${config.issuer}) from the 401 challenge; tokens need scope sandbox:read or sandbox:write.`]
      : []),
    config.state
      ? 'Stop with Ctrl+C (2026-era conversations stay in Redis for the other replicas; 2025-era sessions end and their sandboxes are killed).'
      : 'Stop with Ctrl+C (ends every conversation and kills its sandboxes).',
  ].join('\n');
}

/** Runs `stop` once on the first SIGINT/SIGTERM; a second signal exits at once. */
function onShutdownSignal(logger: Logger, stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without cleanup');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

function backendOptions(config: Config, logger: Logger): BackendOptions {
  return {
    apiKey: config.apiKey,
    baseUrl: config.baseUrl,
    stateDir: config.stateDir,
    allowUnisolated: config.allowUnisolated,
    logger,
  };
}

function serverOptions(config: Config): ServeOptions['server'] {
  return { toolsets: config.toolsets, readOnly: config.readOnly, outputBudgetChars: config.outputBudgetChars };
}

function backendFailed(error: unknown): never {
  say(`hopx-mcp: cannot start the backend: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

/**
 * stdio answers the handshake first and opens the backend right after: the HopX client (undici)
 * and the local backend are loaded off the cold-start path, and requests that need them wait.
 */
async function serveStdio(config: Config, logger: Logger): Promise<void> {
  if (process.stdin.isTTY) {
    // A person ran it at a terminal: it waits for MCP messages that will never come from the keyboard.
    say(
      'hopx-mcp speaks MCP over stdin/stdout: an MCP client (Claude Desktop, Claude Code, Cursor, VS Code) starts it. ' +
        'For a server you can connect to, run hopx-mcp --http; for the flags, hopx-mcp --help. Ctrl+D or Ctrl+C ends it.',
    );
  }
  const { startStdioServer } = await import('./transports/stdio.js');
  const deferred = deferBackend(config.apiKey ? 'cloud' : 'local', async () => {
    const { openBackend } = await import('./transports/backend.js');
    return openBackend(backendOptions(config, logger));
  });
  const stdio = startStdioServer(
    { backend: deferred.backend, logger, keepSandboxes: config.keepSandboxes, server: serverOptions(config) },
    { backendReady: () => deferred.start().then(() => undefined, backendFailed) },
  );
  // One stop path for stdin EOF and signals: the conversation ends (its sandboxes killed), then
  // the backend closes, and only then may the process exit.
  let stopping: Promise<void> | undefined;
  const stop = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      const reason = await stdio.close(why);
      await deferred.backend.close();
      logger.info({ reason }, 'stdio server stopped');
    })());
  onShutdownSignal(logger, (signal) => stop(`signal ${signal}`));
  await stop(await stdio.done);
  process.exit(0);
}

async function serveHttp(config: Config, logger: Logger): Promise<void> {
  // The transport's import overlaps the backend start, which mostly waits on runtime probes.
  const httpModule = import('./transports/http.js');
  const { openBackend } = await import('./transports/backend.js');
  let backend: Backend;
  try {
    backend = await openBackend(backendOptions(config, logger));
  } catch (error) {
    backendFailed(error);
  }
  let state: StateStore;
  try {
    const { openStateStore } = await import('./state/index.js');
    state = await openStateStore(config.state, logger);
  } catch (error) {
    await backend.close().catch(() => {});
    say(`hopx-mcp: cannot open the state store: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  const serveOptions: ServeOptions = { backend, logger, keepSandboxes: config.keepSandboxes, server: serverOptions(config), state };

  const { startHttpServer, HttpStartError } = await httpModule;
  try {
    const http = await startHttpServer({
      ...serveOptions,
      host: config.host,
      port: config.port,
      authToken: config.auth === 'token' ? config.authToken : undefined,
      oauth: config.auth === 'oauth' ? { issuer: config.issuer!, resourceUrl: config.resourceUrl, introspection: config.introspection } : undefined,
      processMetrics: true,
      metricsToken: config.metricsToken,
      limits: {
        maxSandboxes: config.maxSandboxesPerCaller,
        maxConcurrentCalls: config.maxCallsPerCaller,
        requestsPerMinute: config.rateLimitPerMinute,
      },
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
      requireCallerKey: config.requireCallerKey,
      maxBodyBytes: config.maxBodyBytes,
      maxSessions: config.maxSessions,
      sessionIdleSeconds: config.sessionIdleSeconds,
      state,
    });
    say(connectHints(http.url, config));
    onShutdownSignal(logger, async () => {
      await http.close();
      await state.close();
      await backend.close();
    });
  } catch (error) {
    await state.close().catch(() => {});
    await backend.close().catch(() => {});
    if (error instanceof HttpStartError) {
      say(`hopx-mcp: ${error.message}`);
      process.exit(2);
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      say(`hopx-mcp: cannot listen on ${config.host}:${config.port} (${code}): choose another --port or --host.`);
      process.exit(1);
    }
    throw error;
  }
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'local-backend') {
    const { runLocalBackendCommand } = await import('./local/command.js');
    await runLocalBackendCommand(argv.slice(1));
    return;
  }
  let config: Config;
  try {
    config = resolveConfig(argv, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      say(`hopx-mcp: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  if (config.help) return print(helpText(packageVersion()));
  if (config.version) return print(packageVersion());
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  // One stray rejection (say, a socket error after its request was answered) must not take every
  // conversation down with it; it is logged instead.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  await (config.transport === 'stdio' ? serveStdio(config, logger) : serveHttp(config, logger));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  say(`hopx-mcp: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
