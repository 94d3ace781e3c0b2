"""Sandbox-side helper of the hopx-mcp local backend (standard library only).

Two modes:

  kernel.py kernel
      A stateful Python REPL. Requests arrive as JSON lines on stdin; replies go out as JSON lines
      on fd 3 so that user prints, C extensions and subprocesses writing to fd 1 cannot corrupt the
      protocol. Requests:
        {"type": "execute", "id": N, "code": str, "env": {..}, "cwd": str|null}
        {"type": "interrupt", "id": N}
      Replies (all carry the request id):
        {"type": "ready"}
        {"type": "stream", "name": "stdout"|"stderr", "text": str}
        {"type": "display", "data": {mime: str}}          display() calls, matplotlib figures
        {"type": "done", "result": {mime: str}|null, "error": {name, value, traceback}|null}

  kernel.py pty COLS ROWS -- ARGV...
      Run ARGV on a new pseudo-terminal, relaying stdin/stdout; JSON lines {"cols", "rows"} on
      fd 3 resize it.
"""

import ast
import base64
import builtins
import io
import json
import linecache
import os
import queue
import signal
import sys
import threading
import time
import traceback
import types

KERNEL_FILE = os.path.abspath(__file__)

# ---------------------------------------------------------------------------------------------
# Protocol plumbing


class Channel:
    """Serialised writes of JSON lines to the reply fd."""

    def __init__(self, fd):
        self.fd = fd
        self.lock = threading.Lock()

    def send(self, message):
        data = (json.dumps(message, default=str) + "\n").encode("utf-8")
        with self.lock:
            view = memoryview(data)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]


class StreamCapture(io.TextIOBase):
    """sys.stdout / sys.stderr during a cell: buffered, flushed to the host every 50 ms."""

    def __init__(self, kernel, name):
        self.kernel = kernel
        self.name = name
        self.parts = []
        self.size = 0
        self.lock = threading.Lock()

    def writable(self):
        return True

    @property
    def encoding(self):
        return "utf-8"

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        with self.lock:
            self.parts.append(text)
            self.size += len(text)
            big = self.size > 8192
        if big:
            self.flush()
        return len(text)

    def flush(self):
        with self.lock:
            text = "".join(self.parts)
            self.parts = []
            self.size = 0
        if text:
            self.kernel.send({"type": "stream", "name": self.name, "text": text})


# ---------------------------------------------------------------------------------------------
# Rich output

REPR_METHODS = [
    ("text/html", "_repr_html_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
    ("image/svg+xml", "_repr_svg_"),
    ("text/markdown", "_repr_markdown_"),
    ("text/latex", "_repr_latex_"),
    ("application/json", "_repr_json_"),
]


def encode_mime(mime, value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if mime == "application/json" and not isinstance(value, str):
        return json.dumps(value, default=str)
    return str(value)


def is_figure(obj):
    figure_module = sys.modules.get("matplotlib.figure")
    return figure_module is not None and isinstance(obj, figure_module.Figure)


def figure_png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def mime_bundle(obj):
    """Jupyter-style bundle from the _repr_*_ protocol, plus text/plain."""
    bundle = {}
    if not isinstance(obj, type):  # classes have the methods unbound
        method = getattr(obj, "_repr_mimebundle_", None)
        if callable(method):
            try:
                data = method()
                if isinstance(data, tuple):
                    data = data[0]
                for mime, value in (data or {}).items():
                    bundle[mime] = encode_mime(mime, value)
            except Exception:
                pass
        for mime, name in REPR_METHODS:
            method = getattr(obj, name, None)
            if mime in bundle or not callable(method):
                continue
            try:
                value = method()
            except Exception:
                continue
            if isinstance(value, tuple):  # (data, metadata)
                value = value[0]
            if value is not None:
                bundle[mime] = encode_mime(mime, value)
        if is_figure(obj) and "image/png" not in bundle:
            try:
                bundle["image/png"] = figure_png(obj)
            except Exception:
                pass
    try:
        bundle["text/plain"] = repr(obj)
    except Exception as error:  # a broken __repr__ must not break the cell
        bundle["text/plain"] = "<unrepresentable %s: %s>" % (type(obj).__name__, error)
    return bundle


# ---------------------------------------------------------------------------------------------
# matplotlib's inline backend: MPLBACKEND=module://hopx_inline in the kernel. Agg rendering, and
# plt.show() displays the figures instead of warning that Agg cannot show them.

INLINE_BACKEND = "hopx_inline"
CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE, without importing inspect


class InlineBackendFinder:
    """Builds the backend module only when matplotlib asks for it (importing Agg is slow)."""

    def __init__(self, kernel):
        self.kernel = kernel

    def find_spec(self, name, path=None, target=None):
        if name != INLINE_BACKEND:
            return None
        import importlib.util

        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        from matplotlib.backend_bases import FigureManagerBase
        from matplotlib.backends import backend_agg

        module.FigureCanvas = backend_agg.FigureCanvasAgg
        module.FigureManager = getattr(backend_agg, "FigureManager", FigureManagerBase)
        module.show = self.kernel.show_figures


# ---------------------------------------------------------------------------------------------
# The kernel


class Kernel:
    def __init__(self, channel):
        self.channel = channel
        self.requests = queue.Queue()
        self.current_id = None
        self.in_user_code = False
        self.lock = threading.Lock()
        self.cell_counter = 0
        main = types.ModuleType("__main__")
        main.__dict__["__builtins__"] = builtins
        main.__dict__["display"] = self.display
        sys.modules["__main__"] = main  # so pickle finds classes defined in cells
        builtins.display = self.display
        self.namespace = main.__dict__
        self.stdout = StreamCapture(self, "stdout")
        self.stderr = StreamCapture(self, "stderr")
        self.shown_figures = set()
        self.marker = os.environ.pop("HOPX_KERNEL_MARKER", "").encode("utf-8")
        self.loop = None
        sys.meta_path.insert(0, InlineBackendFinder(self))

    def send(self, message):
        if self.current_id is not None:
            message["id"] = self.current_id
        self.channel.send(message)

    def display(self, *objects, **_ignored):
        for obj in objects:
            self.stdout.flush()
            bundle = mime_bundle(obj)
            if is_figure(obj):
                self.shown_figures.add(id(obj))
            self.send({"type": "display", "data": bundle})

    # -- requests -------------------------------------------------------------------------------

    def read_requests(self, stream):
        for raw in stream:
            try:
                request = json.loads(raw)
            except ValueError:
                continue
            if request.get("type") == "interrupt":
                self.interrupt(request.get("id"))
            elif request.get("type") == "execute":
                self.requests.put(request)
        self.requests.put(None)  # stdin closed: host is gone

    def interrupt(self, request_id):
        with self.lock:
            if self.in_user_code and (request_id is None or request_id == self.current_id):
                # A real signal to the main thread wakes blocking calls such as time.sleep.
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    def on_sigint(self, _signum, _frame):
        if self.in_user_code:
            raise KeyboardInterrupt

    def flush_loop(self):
        while True:
            time.sleep(0.05)
            if self.current_id is not None:
                self.stdout.flush()
                self.stderr.flush()

    # -- one cell -------------------------------------------------------------------------------

    def execute(self, request):
        self.current_id = request.get("id")
        self.cell_counter += 1
        filename = "<cell-%d>" % self.cell_counter
        code = request.get("code", "")
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        saved_env = {}
        for key, value in (request.get("env") or {}).items():
            saved_env[key] = os.environ.get(key)
            os.environ[key] = str(value)
        result, error = None, None
        self.shown_figures = set()
        sys.stdout, sys.stderr = self.stdout, self.stderr
        try:
            if request.get("cwd"):
                os.chdir(request["cwd"])
            value = self.run_code(code, filename)
            if value is not None and not code.rstrip().endswith(";"):
                self.namespace["_"] = value
                result = mime_bundle(value)
                if is_figure(value):
                    self.shown_figures.add(id(value))
        except BaseException as exc:  # includes KeyboardInterrupt and SystemExit from user code
            error = self.describe_error(exc)
        finally:
            with self.lock:
                self.in_user_code = False
        try:
            self.flush_figures()
        except BaseException as exc:
            error = error or self.describe_error(exc)
        self.stdout.flush()
        self.stderr.flush()
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        # Pipes are not ordered against fd 3: the marker tells the host that everything this
        # cell (and its finished subprocesses) wrote to fd 1 and fd 2 has arrived.
        for fd in (1, 2):
            try:
                os.write(fd, self.marker)
            except OSError:
                pass  # the cell closed the fd; the host stops waiting after a short while
        for key, old in saved_env.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self.send({"type": "done", "result": result, "error": error})
        self.current_id = None

    def run_code(self, code, filename):
        tree = ast.parse(code, filename, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        # Top-level `await` works as in Jupyter, on one event loop that lives as long as the kernel.
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        body = compile(tree, filename, "exec", flags=flags)
        expression = compile(last, filename, "eval", flags=flags) if last is not None else None
        with self.lock:
            self.in_user_code = True
        self.evaluate(body)
        if expression is not None:
            return self.evaluate(expression)
        return None

    def evaluate(self, code_object):
        value = eval(code_object, self.namespace)
        if code_object.co_flags & CO_COROUTINE:
            if self.loop is None:
                import asyncio

                self.loop = asyncio.new_event_loop()
            value = self.loop.run_until_complete(value)
        return value

    def show_figures(self, *_args, **_kwargs):
        """plt.show() under the inline backend: emit every open figure now, then close them."""
        self.stdout.flush()
        self.flush_figures()

    def flush_figures(self):
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is None:
            return
        for number in pyplot.get_fignums():
            figure = pyplot.figure(number)
            if id(figure) in self.shown_figures:
                continue
            self.send({"type": "display", "data": {"image/png": figure_png(figure), "text/plain": repr(figure)}})
        pyplot.close("all")

    @staticmethod
    def describe_error(exc):
        tb = exc.__traceback__
        # Drop the kernel's own frames: the user's traceback starts in their cell.
        while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<cell-"):
            tb = tb.tb_next
        report = traceback.TracebackException(type(exc), exc, tb)
        # ...and its SIGINT handler, which raises KeyboardInterrupt on the user's behalf.
        report.stack = traceback.StackSummary.from_list(
            [frame for frame in report.stack if frame.filename != KERNEL_FILE]
        )
        text = "".join(report.format())
        return {"name": type(exc).__name__, "value": str(exc), "traceback": text}

    def serve(self):
        while True:
            try:
                request = self.requests.get()
                if request is None:
                    return
                self.execute(request)
            except KeyboardInterrupt:
                continue  # an interrupt that arrived as the cell finished


def run_kernel():
    # Protocol fds move out of the way: children (os.system, subprocess) inherit fd 0 as
    # /dev/null and never see fd 3.
    requests_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    reply_fd = os.dup(3)
    os.close(3)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = io.StringIO("")

    kernel = Kernel(Channel(reply_fd))
    signal.signal(signal.SIGINT, kernel.on_sigint)
    threading.Thread(target=kernel.read_requests, args=(requests_in,), daemon=True).start()
    threading.Thread(target=kernel.flush_loop, daemon=True).start()
    kernel.channel.send({"type": "ready", "pid": os.getpid()})
    kernel.serve()


# ---------------------------------------------------------------------------------------------
# Terminal mode


def run_pty(cols, rows, argv):
    import fcntl
    import select
    import struct
    import termios

    def set_size(fd, cols_, rows_):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows_, cols_, 0, 0))

    master, slave = os.openpty()
    set_size(slave, cols, rows)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        for fd in (master, slave, 3):
            try:
                os.close(fd)
            except OSError:
                pass
        os.environ.setdefault("TERM", "xterm-256color")
        try:
            os.execvp(argv[0], argv)
        except OSError as error:
            os.write(2, ("%s: %s\r\n" % (argv[0], error.strerror)).encode())
            os._exit(127)
    os.close(slave)

    def forward(signum, _frame):
        # The child leads its own session, so a signal to our group does not reach it.
        try:
            os.killpg(pid, signal.SIGHUP)
            os.killpg(pid, signum)
        except OSError:
            pass
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)

    inputs = [0, master, 3]
    control = b""
    while master in inputs:
        try:
            ready, _, _ = select.select(inputs, [], [])
        except InterruptedError:
            continue
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if fd == master:
                if not data:
                    inputs.remove(master)
                else:
                    os.write(1, data)
            elif fd == 0:
                if data:
                    os.write(master, data)
                else:
                    inputs.remove(0)
            else:
                if not data:
                    inputs.remove(3)
                    continue
                control += data
                while b"\n" in control:
                    line, control = control.split(b"\n", 1)
                    try:
                        size = json.loads(line)
                        set_size(master, int(size["cols"]), int(size["rows"]))
                    except (ValueError, KeyError, OSError):
                        pass
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "kernel"
    if mode == "kernel":
        run_kernel()
    elif mode == "pty":
        cols, rows = int(sys.argv[2]), int(sys.argv[3])
        argv = sys.argv[5:] if sys.argv[4:5] == ["--"] else sys.argv[4:]
        run_pty(cols, rows, argv)
    else:
        sys.stderr.write("usage: kernel.py kernel | pty COLS ROWS -- ARGV...\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
