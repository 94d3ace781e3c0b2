/**
 * `hopx-mcp local-backend [--port N] [--host H] [--state-dir D] [--allow-unisolated]`: run the
 * local HopX-compatible backend alone. Prints its URL and API key to stderr; stops cleanly on
 * SIGINT/SIGTERM (every sandbox killed).
 */
import { createLogger } from '../log.js';
import { startLocalBackend } from './index.js';

const USAGE =
  'usage: hopx-mcp local-backend [--port N] [--host 127.0.0.1] [--state-dir DIR] [--allow-unisolated]\n' +
  '  Runs a HopX-compatible API on this machine. Use the printed URL as HOPX_BASE_URL and the key as HOPX_API_KEY.';

interface LocalBackendArgs {
  port: number;
  host: string;
  stateDir?: string;
  allowUnisolated: boolean;
}

function parseLocalBackendArgs(argv: string[]): LocalBackendArgs {
  const args: LocalBackendArgs = { port: 0, host: '127.0.0.1', allowUnisolated: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--port': {
        const port = Number(value());
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer from 0 to 65535\n${USAGE}`);
        args.port = port;
        break;
      }
      case '--host':
        args.host = value();
        break;
      case '--state-dir':
        args.stateDir = value();
        break;
      case '--allow-unisolated':
        args.allowUnisolated = true;
        break;
      case '--help':
      case '-h':
        throw Object.assign(new Error(USAGE), { help: true });
      default:
        throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    }
  }
  return args;
}

export async function runLocalBackendCommand(argv: string[]): Promise<void> {
  let args: LocalBackendArgs;
  try {
    args = parseLocalBackendArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = (err as { help?: boolean }).help ? 0 : 2;
    return;
  }
  const logger = createLogger({ name: 'hopx-local' });
  if (!['127.0.0.1', 'localhost', '::1'].includes(args.host)) {
    logger.warn({ host: args.host }, 'binding the local backend beyond loopback: anyone who can reach it and knows the key can run code here');
  }
  let backend;
  try {
    backend = await startLocalBackend({
      host: args.host,
      port: args.port,
      stateDir: args.stateDir,
      // The same opt-out name as the MCP server's (--allow-unisolated / HOPX_MCP_ALLOW_UNISOLATED).
      allowUnisolated: args.allowUnisolated || /^(1|true|yes|on)$/i.test(process.env.HOPX_MCP_ALLOW_UNISOLATED?.trim() ?? ''),
      apiKey: process.env.HOPX_LOCAL_API_KEY || undefined,
      logger,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'EADDRINUSE'
        ? `port ${args.port} on ${args.host} is in use: choose another --port (0 picks a free one)`
        : code === 'EADDRNOTAVAIL'
          ? `${args.host} is not an address of this machine: use --host 127.0.0.1`
          : (err as Error).message;
    process.stderr.write(`hopx-mcp local-backend: cannot start: ${reason}\n`);
    process.exitCode = 1;
    return;
  }
  process.stderr.write(
    `HopX-compatible local backend listening on ${backend.url}\n` +
      `  HOPX_BASE_URL=${backend.url}\n  HOPX_API_KEY=${backend.apiKey}\n` +
      `  isolation: ${backend.probe.isolation}, limits: ${backend.probe.limits}, pause: ${backend.probe.pause}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`received ${signal}: killing sandboxes and shutting down\n`);
      backend.close().then(resolve, (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
