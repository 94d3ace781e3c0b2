import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { probeHost } from '../../../src/local/runtime/probe.js';
import type { LocalSandbox } from '../../../src/local/runtime/types.js';
import { capture, skipReason, startRuntime, waitUntil, type TestRuntime } from './helpers.js';

const host = await probeHost();
const noBwrap = skipReason(host.probe.isolation !== 'namespaces', `bubblewrap unusable here: ${host.bwrapFailure}`);
const noPython = skipReason(!host.probe.python, 'no /usr/bin/python3');
const noScience = skipReason(!host.probe.python?.matplotlib || !host.probe.python?.pandas, 'python lacks matplotlib/pandas (apt-get install python3-matplotlib python3-pandas)');
const noGo = skipReason(!host.probe.go, 'go is not installed (apt-get install golang-go)');
const noNode = skipReason(!host.probe.node, 'node is not available');

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

describe.skipIf(noBwrap || noPython)('stateful python kernel', () => {
  let rt: TestRuntime;
  let sandbox: LocalSandbox;
  const run = (code: string, timeoutMs = 20_000, onOutput?: (s: 'stdout' | 'stderr', c: string) => void) =>
    sandbox.runPython({ code, env: {}, timeoutMs }, onOutput);

  beforeAll(async () => {
    rt = await startRuntime();
    sandbox = await rt.create('kernel');
  });
  afterAll(async () => {
    await rt?.close();
  });

  test('keeps state across cells and after errors; returns the last expression', async () => {
    expect(await run('x = 40\nprint("set")')).toMatchObject({ stdout: 'set\n', result: null, error: null, stateLost: false });
    const failed = await run('1 / 0');
    expect(failed.error).toMatchObject({ name: 'ZeroDivisionError', value: 'division by zero' });
    expect(failed.error!.traceback).toContain('<cell-');
    expect(failed.error!.traceback).not.toContain('kernel.py');
    const second = await run('import sys\nprint("err", file=sys.stderr)\nx + 2');
    expect(second).toMatchObject({ stderr: 'err\n', result: { 'text/plain': '42' } });
    expect((await run('x + 2;')).result).toBeNull(); // a trailing semicolon hides the result, as in Jupyter
  });

  test('applies the cell env and cwd, and streams output as it is produced', async () => {
    // The cell waits for a file that the test writes only once the first line has streamed out:
    // without streaming the cell would hang until its timeout.
    const go = join(sandbox.dirs.scratch, 'go');
    const r = await sandbox.runPython(
      {
        code: 'import os, time\nprint(os.environ["GREETING"], os.getcwd(), flush=True)\nwhile not os.path.exists("/tmp/go"): time.sleep(0.01)\nprint("late")',
        env: { GREETING: 'hello' },
        cwd: '/tmp',
        timeoutMs: 30_000,
      },
      (_stream, chunk) => {
        if (chunk.includes('hello')) writeFileSync(go, '');
      },
    );
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toBe('hello /tmp\nlate\n');
    expect((await run('import os\n"GREETING" in os.environ')).result).toEqual({ 'text/plain': 'False' }); // restored after the cell
  });

  test('top-level await runs on a loop that persists across cells', async () => {
    await run('import asyncio\nasync def twice(x):\n    await asyncio.sleep(0.01)\n    return 2 * x');
    expect((await run('await twice(21)')).result).toEqual({ 'text/plain': '42' });
    expect((await run('r = await twice(1)\nr')).result).toEqual({ 'text/plain': '2' });
  });

  test('subprocess output on fd 1 belongs to the cell', async () => {
    expect((await run('import os\nos.system("echo from-shell")')).stdout).toContain('from-shell\n');
  });

  test('rich results: svg, markdown, json and display()', async () => {
    const r = await run(
      [
        'class Rich:',
        '    def _repr_svg_(self): return "<svg/>"',
        '    def _repr_markdown_(self): return "**b**"',
        '    def _repr_json_(self): return {"a": 1}',
        'display(Rich())',
        'Rich()',
      ].join('\n'),
    );
    expect(r.displays).toHaveLength(1);
    expect(r.result).toMatchObject({ 'image/svg+xml': '<svg/>', 'text/markdown': '**b**', 'application/json': '{"a": 1}' });
    expect(r.result!['text/plain']).toMatch(/Rich object/);
  });

  test.skipIf(noScience)('matplotlib figures come back as PNG', async () => {
    const r = await run('import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title("t")\nprint("plotted")', 60_000);
    expect(r.error).toBeNull();
    expect(r.displays).toHaveLength(1);
    const png = Buffer.from(r.displays[0]['image/png'], 'base64');
    expect(png.subarray(0, 4)).toEqual(PNG_MAGIC);
    expect(png.length).toBeGreaterThan(2000);
    expect((await run('plt.get_fignums()')).result).toEqual({ 'text/plain': '[]' }); // closed after the cell
  });

  test.skipIf(noScience)('plt.show() displays each figure at that point, as in Jupyter', async () => {
    const r = await run('import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\nprint("between")\nplt.bar([1], [2])\nplt.show()', 60_000);
    expect(r.stderr).toBe(''); // no "FigureCanvasAgg is non-interactive" warning
    expect(r.stdout).toBe('between\n');
    expect(r.displays).toHaveLength(2);
    for (const d of r.displays) expect(Buffer.from(d['image/png'], 'base64').subarray(0, 4)).toEqual(PNG_MAGIC);
  });

  test.skipIf(noScience)('pandas DataFrames come back as HTML', async () => {
    const r = await run('import pandas as pd\ndf = pd.DataFrame({"a": [1, 2], "b": [3, 4]})\ndisplay(df.describe())\ndf', 60_000);
    expect(r.error).toBeNull();
    expect(r.result!['text/html']).toContain('<table');
    expect(r.result!['text/plain']).toContain('a  b');
    expect(r.displays[0]['text/html']).toContain('mean');
  });

  test('a timeout interrupts the cell and keeps state when it is interruptible', async () => {
    await run('kept = "yes"');
    const r = await run('import time\nwhile True:\n    time.sleep(0.05)', 400);
    expect(r).toMatchObject({ timedOut: true, stateLost: false });
    expect(r.error?.name).toBe('KeyboardInterrupt');
    expect((await run('kept')).result).toEqual({ 'text/plain': "'yes'" });
  });

  test('a cell that ignores interrupts is killed and state is lost', async () => {
    // SIG_IGN goes in first, in a cell of its own, so the timeout cannot beat it on a busy machine.
    await run('doomed = 1\nimport signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)');
    const r = await run('import time\ntime.sleep(60)', 1000);
    expect(r).toMatchObject({ timedOut: true, stateLost: true });
    expect(r.error?.value).toMatch(/restarted; variables from earlier cells are lost/);
    expect((await run('doomed')).error?.name).toBe('NameError');
  });

  test('a runaway print loop is streamed in full but kept bounded in the result', async () => {
    let streamed = 0;
    const r = await run('import sys\nfor _ in range(20):\n    sys.stdout.write("x" * (1024 * 1024))', 60_000, (_s, c) => (streamed += c.length));
    expect(streamed).toBe(20 * 1024 * 1024);
    expect(r.stdout.length).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(r.stdout).toMatch(/^x+\n… \[\d+ bytes \(0 lines\) of stdout cut after line 1; the whole stdout was not kept\] …\nx+$/);
  });

  test('a cell that writes an endless line to the reply channel loses the kernel, not the backend', async () => {
    // The reply fd is reachable from cell code; 80 MiB without a newline passes the 64 MiB line cap.
    const flood = [
      'import os',
      'fd = max(int(f) for f in os.listdir("/proc/self/fd") if int(f) > 2 and os.path.exists(f"/proc/self/fd/{f}") and os.readlink(f"/proc/self/fd/{f}").startswith("socket:"))',
      'for _ in range(80):',
      '    os.write(fd, b"x" * (1 << 20))',
    ].join('\n');
    const r = await run(flood, 60_000);
    expect(r).toMatchObject({ timedOut: false, stateLost: true });
    expect(r.error?.value).toMatch(/kernel exited/);
    expect((await run('6 * 7')).result).toEqual({ 'text/plain': '42' });
  });

  test('cells run one at a time, in order', async () => {
    const results = await Promise.all([run('import time\ntime.sleep(0.2)\norder = [1]'), run('order.append(2)\norder')]);
    expect(results[1].result).toEqual({ 'text/plain': '[1, 2]' });
  });
});

describe.skipIf(noBwrap)('stateless languages, terminal and ports', () => {
  let rt: TestRuntime;
  let sandbox: LocalSandbox;
  beforeAll(async () => {
    rt = await startRuntime();
    sandbox = await rt.create('langs');
  });
  afterAll(async () => {
    await rt?.close();
  });

  const code = (language: 'bash' | 'javascript' | 'python' | 'go', source: string, env: Record<string, string> = {}) =>
    capture(sandbox.execCode({ language, code: source, env, timeoutMs: 60_000 }));

  test('bash', async () => {
    expect(await code('bash', 'echo "$V $PWD"; exit 3', { V: 'v' })).toMatchObject({ stdout: 'v /workspace\n', exitCode: 3 });
  });

  test('stdin is closed unless given or a terminal, so reading input cannot hang', async () => {
    const noInput = await capture(sandbox.exec({ argv: ['bash', '-c', 'cat; echo "eof $?"'], env: {}, timeoutMs: 10_000 }));
    expect(noInput).toMatchObject({ stdout: 'eof 0\n', timedOut: false });
    const given = await capture(sandbox.exec({ argv: ['bash', '-c', 'read line; echo "got $line"'], env: {}, timeoutMs: 10_000, stdin: 'hi\n' }));
    expect(given.stdout).toBe('got hi\n');
  });

  test('any directory inside the sandbox can be the working directory; a missing one is an error', async () => {
    const inUsr = await capture(sandbox.exec({ argv: ['pwd'], cwd: '/usr/lib', env: {}, timeoutMs: 5000 }));
    expect(inUsr.stdout).toBe('/usr/lib\n');
    const missing = await capture(sandbox.exec({ argv: ['pwd'], cwd: '/workspace/nope', env: {}, timeoutMs: 5000 }));
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain('/workspace/nope');
  });

  test.skipIf(noNode)('javascript', async () => {
    const r = await code('javascript', 'console.log(1 + 1, process.env.HOME); console.error("e")');
    expect(r).toMatchObject({ stdout: '2 /root\n', stderr: 'e\n', exitCode: 0 });
  });

  test.skipIf(noPython)('python as a plain process', async () => {
    const r = await code('python', 'import sys\nprint(sys.executable)\nsys.exit(2)');
    expect(r).toMatchObject({ stdout: '/usr/bin/python3\n', exitCode: 2 });
  });

  test.skipIf(noGo)('go', async () => {
    const r = await code('go', 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("go", 6*7) }');
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ stdout: 'go 42\n', exitCode: 0 });
  });

  test('the code files are cleaned up', async () => {
    const r = await capture(sandbox.exec({ argv: ['bash', '-c', 'ls -A /tmp/.hopx 2>/dev/null | wc -l'], env: {}, timeoutMs: 5000 }));
    expect(r.stdout.trim()).toBe('0');
  });

  test.skipIf(noPython)('a terminal: tty, window size and resize', async () => {
    const term = sandbox.exec({ argv: ['bash', '--norc', '--noprofile', '-i'], env: { PS1: '$ ' }, timeoutMs: 20_000, tty: { cols: 90, rows: 30 } });
    let screen = '';
    term.onStdout((c) => (screen += c));
    term.writeStdin('tty; stty size\n');
    await waitUntil(() => screen.includes('30 90'), 5000, 'stty size in the terminal');
    expect(screen).toContain('/dev/pts/');
    term.resize(120, 40);
    // The resize reaches the pty through the helper's control pipe, asynchronously: ask for the
    // size, wait for each answer, and ask again until the new size shows.
    const answers = () => screen.match(/^\d+ \d+\r?$/gm)?.length ?? 0;
    for (let asked = 0; !screen.includes('40 120'); asked++) {
      if (asked === 20) throw new Error(`the terminal never reported 40 120:\n${screen}`);
      const before = answers();
      term.writeStdin('stty size\n');
      await waitUntil(() => answers() > before, 10_000, 'stty size to answer');
    }
    term.writeStdin('exit 5\n');
    const outcome = await term.done;
    expect(screen).toContain('40 120');
    expect(outcome.exitCode).toBe(5);
  });

  test.skipIf(noPython)('forwardPort reaches a server inside; the host loopback port stays closed', async () => {
    const port = 18_000 + (process.pid % 1000);
    const server = sandbox.exec({
      argv: ['python3', '-m', 'http.server', String(port), '--bind', '127.0.0.1'],
      cwd: '/workspace',
      env: {},
      timeoutMs: 30_000,
      stdin: '',
    });
    await capture(sandbox.exec({ argv: ['bash', '-c', 'echo preview-ok > /workspace/hello.txt'], env: {}, timeoutMs: 5000 }));
    const { hostPort } = await sandbox.forwardPort(port);
    expect(hostPort).not.toBe(port);
    let body = '';
    await waitUntil(
      async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${hostPort}/hello.txt`);
          body = await res.text();
          return res.status === 200;
        } catch {
          return false;
        }
      },
      10_000,
      'the forwarded server',
    );
    expect(body).toBe('preview-ok\n');
    expect((await sandbox.forwardPort(port)).hostPort).toBe(hostPort); // reused
    // Concurrent requests for a new port share one forward instead of racing to open two.
    const twice = await Promise.all([sandbox.forwardPort(port + 1), sandbox.forwardPort(port + 1)]);
    expect(twice[1].hostPort).toBe(twice[0].hostPort);
    const direct = await new Promise<string>((resolve) => {
      const socket = createConnection(port, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(direct).toBe('ECONNREFUSED');
    await server.kill();
  });
});

describe.skipIf(noBwrap || noPython)('port forwards from a deep state dir', () => {
  test('use a short socket path outside it', async () => {
    const rt = await startRuntime({ deepStateDir: true });
    try {
      const sandbox = await rt.create('deep');
      const server = sandbox.exec({ argv: ['python3', '-m', 'http.server', '8000', '--bind', '127.0.0.1'], env: {}, timeoutMs: 30_000, stdin: '' });
      const { hostPort } = await sandbox.forwardPort(8000);
      await waitUntil(
        async () => {
          try {
            return (await fetch(`http://127.0.0.1:${hostPort}/`)).status === 200;
          } catch {
            return false;
          }
        },
        10_000,
        'the forwarded server',
      );
      await server.kill();
    } finally {
      await rt.close();
    }
  });
});
