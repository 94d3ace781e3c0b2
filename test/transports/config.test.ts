import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_HTTP_PORT, envName, helpText, OPTIONS, resolveConfig } from '../../src/config.js';
import { TOOLSETS } from '../../src/server.js';

const resolve = (argv: string[], env: Record<string, string> = {}) => resolveConfig(argv, env);
const failure = (argv: string[], env: Record<string, string> = {}): string => {
  try {
    resolve(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be refused`);
};

describe('resolveConfig', () => {
  it('defaults to stdio on the local backend with safe HTTP settings', () => {
    const config = resolve([]);
    expect(config).toMatchObject({
      transport: 'stdio',
      host: '127.0.0.1',
      port: DEFAULT_HTTP_PORT,
      toolsets: undefined,
      readOnly: false,
      keepSandboxes: false,
      logLevel: 'info',
      apiKey: undefined,
      authToken: undefined,
    });
  });

  it('lets env twins override defaults and flags override env twins', () => {
    const env = { HOPX_MCP_HTTP: '1', HOPX_MCP_PORT: '4000', HOPX_MCP_READ_ONLY: 'yes', HOPX_MCP_LOG_LEVEL: 'debug' };
    expect(resolve([], env)).toMatchObject({ transport: 'http', port: 4000, readOnly: true, logLevel: 'debug' });
    expect(resolve(['--port', '0', '--log-level=warn'], env)).toMatchObject({ port: 0, logLevel: 'warn' });
  });

  it('takes the log format from --log-format or HOPX_MCP_LOG_FORMAT, else leaves it to the terminal check', () => {
    expect(resolve([]).logFormat).toBeUndefined();
    expect(resolve([], { HOPX_MCP_LOG_FORMAT: 'Pretty' }).logFormat).toBe('pretty');
    expect(resolve(['--log-format', 'json'], { HOPX_MCP_LOG_FORMAT: 'pretty' }).logFormat).toBe('json');
    expect(failure([], { HOPX_MCP_LOG_FORMAT: 'yaml' })).toMatch(/HOPX_MCP_LOG_FORMAT="yaml"/);
  });

  it('gives every flag except help/version a HOPX_MCP_* twin', () => {
    for (const name of Object.keys(OPTIONS).filter((n) => n !== 'help' && n !== 'version')) {
      expect(helpText('1.0.0')).toContain(envName(name));
    }
    expect(envName('keep-sandboxes')).toBe('HOPX_MCP_KEEP_SANDBOXES');
  });

  it('reads secrets from the environment only', () => {
    const config = resolve([], { HOPX_API_KEY: 'hopx_live_x', HOPX_BASE_URL: 'http://127.0.0.1:9', HOPX_MCP_AUTH_TOKEN: 'a'.repeat(32) });
    expect(config).toMatchObject({ apiKey: 'hopx_live_x', baseUrl: 'http://127.0.0.1:9', authToken: 'a'.repeat(32) });
    expect(failure(['--api-key', 'k'])).toMatch(/HOPX_API_KEY environment variable/);
    expect(failure(['--auth-token=k'])).toMatch(/HOPX_MCP_AUTH_TOKEN/);
  });

  it('treats an empty HOPX_API_KEY as unset (local backend)', () => {
    expect(resolve([], { HOPX_API_KEY: '' }).apiKey).toBeUndefined();
  });

  it('validates toolsets against the server registry', () => {
    expect(resolve(['--toolsets', `${TOOLSETS[0]},${TOOLSETS[1]}`]).toolsets).toEqual([TOOLSETS[0], TOOLSETS[1]]);
    // The sandbox lifecycle is always on: `--toolsets code,files` can still create a sandbox.
    expect(resolve(['--toolsets', 'code,files']).toolsets).toEqual(['sandbox', 'code', 'files']);
    expect(resolve(['--toolsets', 'all']).toolsets).toEqual([...TOOLSETS]);
    const message = failure(['--toolsets', 'sandbox,nope']);
    expect(message).toContain('"nope"');
    expect(message).toContain(TOOLSETS.join(', '));
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--http', '--port', '70000'], /--port="70000".*0 to 65535/],
    [['--http', '--port', 'abc'], /--port="abc"/],
    [['--port', '3000'], /only applies to HTTP: add --http/],
    [['--output-budget', '10'], /--output-budget="10"/],
    [['--log-level', 'loud'], /not a log level/],
    [['--log-format', 'xml'], /--log-format="xml" is not a log format: use json or pretty/],
    [['extra'], /Unexpected argument 'extra'/],
    [['--http', '--host', 'bad host!'], /not a host name/],
  ])('refuses %j with a message naming the flag', (argv, expected) => {
    expect(failure(argv)).toMatch(expected);
  });

  it('names the env variable when an env twin is wrong', () => {
    expect(failure([], { HOPX_MCP_READ_ONLY: 'maybe' })).toMatch(/HOPX_MCP_READ_ONLY="maybe" is not a boolean/);
    expect(failure([], { HOPX_MCP_MAX_SESSIONS: '0' })).toMatch(/HOPX_MCP_MAX_SESSIONS="0"/);
    expect(failure([], { HOPX_BASE_URL: 'ftp://x' })).toMatch(/HOPX_BASE_URL/);
    expect(failure([], { HOPX_MCP_AUTH_TOKEN: 'short' })).toMatch(/at least 16/);
    expect(failure([], { HOPX_MCP_METRICS_TOKEN: 'short' })).toMatch(/HOPX_MCP_METRICS_TOKEN is too short/);
    expect(resolve(['--http'], { HOPX_MCP_METRICS_TOKEN: ' m'.padEnd(20, 'x') })).toMatchObject({ metricsToken: 'm'.padEnd(19, 'x') });
  });

  it('ignores HTTP-only env twins on stdio but refuses the flags', () => {
    expect(resolve([], { HOPX_MCP_HOST: '0.0.0.0', HOPX_MCP_PORT: '9' })).toMatchObject({ transport: 'stdio' });
    expect(failure(['--host', '0.0.0.0'])).toMatch(/--host only applies to HTTP/);
  });

  it('takes --state memory (default) or a Redis URL, keeping passwords off the command line', () => {
    expect(resolve(['--http']).state).toBeUndefined();
    expect(resolve(['--http', '--state', 'memory']).state).toBeUndefined();
    expect(resolve(['--http', '--state', 'redis://127.0.0.1:6380/2']).state).toBe('redis://127.0.0.1:6380/2');
    expect(resolve(['--http'], { HOPX_MCP_STATE: 'rediss://:s3cret@redis.internal:6379' }).state).toBe('rediss://:s3cret@redis.internal:6379');
    expect(failure(['--http', '--state', 'postgres://db'])).toMatch(/--state is not a Redis URL: use redis:\/\/host:6379/);
    const leaked = failure(['--http', '--state', 'redis://:s3cret@redis.internal:6379']);
    expect(leaked).toMatch(/Set HOPX_MCP_STATE instead/);
    expect(leaked).not.toContain('s3cret');
    expect(failure(['--http'], { HOPX_MCP_STATE: 'nonsense' })).toMatch(/^HOPX_MCP_STATE is not a Redis URL/);
    expect(failure(['--state', 'redis://127.0.0.1:6379'])).toMatch(/--state only applies to HTTP/);
  });

  it('parses lists and help/version', () => {
    const config = resolve(['--http', '--allowed-hosts', 'mcp.example.com, other.example.com', '--help']);
    expect(config.allowedHosts).toEqual(['mcp.example.com', 'other.example.com']);
    expect(config.help).toBe(true);
    expect(resolve(['--version']).version).toBe(true);
  });

  describe('--auth', () => {
    const TOKEN = { HOPX_MCP_AUTH_TOKEN: '0123456789abcdef0123' };
    it('defaults to the static token when HOPX_MCP_AUTH_TOKEN is set, else none', () => {
      expect(resolve(['--http'], TOKEN)).toMatchObject({ auth: 'token', issuer: undefined });
      expect(resolve(['--http'])).toMatchObject({ auth: 'none' });
      expect(failure(['--http', '--auth', 'token'])).toMatch(/needs the HOPX_MCP_AUTH_TOKEN/);
    });

    it('oauth needs an issuer (https off loopback), takes a resource URL, and its env twins', () => {
      expect(resolve(['--http', '--auth', 'oauth', '--issuer', 'https://auth.example.com'])).toMatchObject({
        auth: 'oauth',
        issuer: 'https://auth.example.com',
        resourceUrl: undefined,
        introspection: undefined,
      });
      expect(resolve([], { HOPX_MCP_HTTP: '1', HOPX_MCP_AUTH: 'oauth', HOPX_MCP_ISSUER: 'http://127.0.0.1:9000', HOPX_MCP_RESOURCE_URL: 'https://mcp.example.com/mcp' })).toMatchObject({
        auth: 'oauth',
        issuer: 'http://127.0.0.1:9000',
        resourceUrl: 'https://mcp.example.com/mcp',
      });
      expect(failure(['--http', '--auth', 'oauth'])).toMatch(/needs --issuer/);
      expect(failure(['--http', '--auth', 'oauth', '--issuer', 'http://auth.example.com'])).toMatch(/must be https/);
      expect(failure(['--http', '--auth', 'oauth', '--issuer', 'https://a.example', '--resource-url', 'http://mcp.example.com/mcp'])).toMatch(/must be https/);
      expect(failure(['--http', '--auth', 'oauth', '--issuer', 'not a url'])).toMatch(/--issuer="not a url" is not an http\(s\) URL/);
      expect(failure(['--http', '--auth', 'magic'])).toMatch(/use "token" or "oauth"/);
      expect(failure(['--http', '--issuer', 'https://auth.example.com'])).toMatch(/--issuer only applies with --auth oauth/);
      expect(failure(['--auth', 'oauth', '--issuer', 'https://auth.example.com'])).toMatch(/only applies to HTTP/);
    });

    it('--introspect reads its client from the environment only', () => {
      const argv = ['--http', '--auth', 'oauth', '--issuer', 'https://auth.example.com', '--introspect'];
      expect(failure(argv)).toMatch(/HOPX_MCP_INTROSPECTION_CLIENT_ID and HOPX_MCP_INTROSPECTION_CLIENT_SECRET/);
      expect(resolve(argv, { HOPX_MCP_INTROSPECTION_CLIENT_ID: 'rs', HOPX_MCP_INTROSPECTION_CLIENT_SECRET: 's3cret' })).toMatchObject({
        introspection: { clientId: 'rs', clientSecret: 's3cret' },
      });
      expect(failure([...argv, '--client-secret', 'x'])).toMatch(/HOPX_MCP_INTROSPECTION_CLIENT_SECRET/);
    });

    it('per-caller limits default to 10 sandboxes, 16 calls, 600 requests a minute; 0 turns one off', () => {
      expect(resolve(['--http'])).toMatchObject({ maxSandboxesPerCaller: 10, maxCallsPerCaller: 16, rateLimitPerMinute: 600 });
      expect(resolve(['--http', '--max-sandboxes-per-caller', '3', '--max-calls-per-caller', '0', '--rate-limit', '60'])).toMatchObject({
        maxSandboxesPerCaller: 3,
        maxCallsPerCaller: 0,
        rateLimitPerMinute: 60,
      });
      expect(failure(['--http', '--rate-limit', '-1'])).toMatch(/--rate-limit/);
    });
  });
});
