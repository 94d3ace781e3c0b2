/**
 * Preview ports: a host listener on 127.0.0.1:<ephemeral> whose connections are piped to a unix
 * socket in the sandbox's run dir, where a forwarder living in the sandbox's network namespace
 * connects to 127.0.0.1:<port> inside (docs/isolation.md §7). The sandbox keeps no route
 * to the host's loopback. SandboxPorts keeps one sandbox's forwards, one per port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { SANDBOX_PATH, hostHelper, joinNetArgv, withCgroupPrelude } from './commands.js';
import { signalGroup } from './exec-handle.js';
import type { HostProfile } from './probe.js';

/** sun_path holds 108 bytes; a socket path longer than this goes to a short directory instead. */
const MAX_SOCKET_PATH = 100;

/** How a forwarder joins the sandbox: its anchor's network namespace and its cgroups. */
export interface SandboxJoin {
  anchorPid: number;
  procsFiles: readonly string[];
}

/** The forwards of one isolated sandbox, one per sandbox port, and the socket dirs they need. */
export class SandboxPorts {
  private readonly forwards = new Map<number, PortForward>();
  /** Short socket dirs outside the state dir (deep state dirs overflow sun_path). */
  private readonly socketDirs: string[] = [];

  constructor(
    private readonly host: HostProfile,
    /** The sandbox's host-only run dir, where the sockets go when their paths fit. */
    private readonly runDir: string,
  ) {}

  /** The host port that reaches `port` inside the sandbox; an open, live forward is reused. */
  async open(port: number, sandbox: SandboxJoin): Promise<number> {
    const existing = this.forwards.get(port);
    if (existing?.alive) return existing.hostPort;
    await existing?.close();
    const socketPath = await this.socketPath(port);
    const { host } = this;
    const forwarderArgv = host.socat
      ? [host.socat, `UNIX-LISTEN:${socketPath},fork,mode=600`, `TCP:127.0.0.1:${port}`]
      : [host.probe.node!.path, '-e', nodeForwarderScript(socketPath, port)];
    // Only the net namespace is joined, so the forwarder would not die with the sandbox's pid
    // namespace: tie it to the backend's life instead.
    const helper = hostHelper(host.setpriv!, host.probe.sandboxUid, forwarderArgv);
    const argv = withCgroupPrelude(
      sandbox.procsFiles,
      joinNetArgv({ nsenter: host.nsenter!, anchorPid: sandbox.anchorPid, root: host.probe.root, argv: helper }),
    );
    const child = spawn(argv[0], argv.slice(1), { env: { PATH: SANDBOX_PATH }, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    const forward = await PortForward.open(port, socketPath, child);
    this.forwards.set(port, forward);
    return forward.hostPort;
  }

  /** Closes every forward and removes the socket dirs. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.forwards.values()].map((f) => f.close()));
    this.forwards.clear();
    await Promise.all(this.socketDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }

  private async socketPath(port: number): Promise<string> {
    let dir = join(this.runDir, 'ports');
    if (join(dir, `p${port}.sock`).length > MAX_SOCKET_PATH) {
      dir = await mkdtemp('/tmp/hopx-fwd-');
      this.socketDirs.push(dir);
      const uid = this.host.probe.sandboxUid;
      if (uid !== null) await chown(dir, uid, uid);
    }
    const path = join(dir, `p${port}.sock`);
    await rm(path, { force: true });
    return path;
  }
}

export class PortForward {
  private constructor(
    readonly port: number,
    readonly hostPort: number,
    private readonly server: Server,
    private readonly forwarder: ChildProcess,
    private readonly sockets: Set<Socket>,
  ) {}

  /**
   * @param socketPath unix socket the forwarder listens on
   * @param forwarder the in-namespace forwarder process, already spawned
   */
  static async open(port: number, socketPath: string, forwarder: ChildProcess): Promise<PortForward> {
    await waitForSocket(socketPath, forwarder);
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      sockets.add(client);
      const upstream = createConnection(socketPath);
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    } catch (err) {
      signalGroup(forwarder.pid!, 'SIGKILL'); // nothing will ever close it otherwise
      throw err;
    }
    const address = server.address();
    const hostPort = typeof address === 'object' && address ? address.port : 0;
    return new PortForward(port, hostPort, server, forwarder, sockets);
  }

  get alive(): boolean {
    return this.forwarder.exitCode === null && this.forwarder.signalCode === null;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.forwarder.pid !== undefined && this.alive) {
      signalGroup(this.forwarder.pid, 'SIGKILL');
    }
  }
}

async function waitForSocket(path: string, forwarder: ChildProcess): Promise<void> {
  const deadline = Date.now() + 5000;
  let stderr = '';
  forwarder.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 4096) stderr += chunk; // for the start-up error only; socat logs per connection
  });
  while (!existsSync(path)) {
    if (forwarder.exitCode !== null || forwarder.signalCode !== null) {
      throw new Error(`port forwarder exited: ${stderr.trim().slice(0, 300) || `code ${forwarder.exitCode}`}`);
    }
    if (Date.now() > deadline) {
      signalGroup(forwarder.pid!, 'SIGKILL');
      throw new Error('port forwarder did not start within 5 s');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A node forwarder for machines without socat: unix socket → 127.0.0.1:port in the current netns. */
function nodeForwarderScript(socketPath: string, port: number): string {
  return `const net=require('net');net.createServer(c=>{const u=net.connect(${port},'127.0.0.1');c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());}).listen(${JSON.stringify(socketPath)});`;
}
