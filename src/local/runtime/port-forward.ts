/**
 * Preview ports: a host listener on 127.0.0.1:<ephemeral> whose connections are piped to a unix
 * socket in the sandbox's run dir, where a forwarder living in the sandbox's network namespace
 * connects to 127.0.0.1:<port> inside (docs/isolation.md §7). The sandbox keeps no route
 * to the host's loopback.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { signalGroup } from './exec-handle.js';

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
export function nodeForwarderScript(socketPath: string, port: number): string {
  return `const net=require('net');net.createServer(c=>{const u=net.connect(${port},'127.0.0.1');c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());}).listen(${JSON.stringify(socketPath)});`;
}
