"""Sandbox-side desktop of the hopx-mcp local backend (standard library + Debian X tools).

  desktop.py WIDTH HEIGHT

Runs INSIDE a sandbox: starts Xvfb (a display only this sandbox's network namespace can reach:
abstract socket, no TCP), openbox as the window manager, and on request x11vnc; then serves
requests as JSON lines on stdin, one reply line each on stdout:

  {"id": N, "op": "screenshot", "region": {x, y, width, height}|null}
      -> {"id", "ok": true, "png": base64, "width", "height"}
  {"id": N, "op": "xdotool", "args": [...]}          mouse, keyboard, windows (argv for xdotool)
  {"id": N, "op": "windows"}                          -> {"windows": [{id, title, x, y, width, height, desktop, pid}]}
  {"id": N, "op": "wmctrl", "args": [...]}            focus / close
  {"id": N, "op": "clipboard_get"} / {"op": "clipboard_set", "text"}
  {"id": N, "op": "vnc_start", "password": str|null} / {"op": "vnc_stop"} / {"op": "vnc_status"}
Errors: {"id", "ok": false, "error": text}. The first line is {"ready": true, "display", "width", "height"}
(or {"ready": false, "error"}). Children get SIGKILL when this process dies (PR_SET_PDEATHSIG).

Screenshots read the framebuffer with XGetImage through ctypes and encode PNG with zlib: no
process per screenshot, which keeps a 1280x800 capture near 30 ms.
"""

import base64
import ctypes
import ctypes.util
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib

LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def die_with_parent():
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(argv, **kw):
    return subprocess.Popen(argv, preexec_fn=die_with_parent, stdin=subprocess.DEVNULL, **kw)


class XImage(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_int), ("height", ctypes.c_int), ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int), ("data", ctypes.c_void_p), ("byte_order", ctypes.c_int),
        ("bitmap_unit", ctypes.c_int), ("bitmap_bit_order", ctypes.c_int), ("bitmap_pad", ctypes.c_int),
        ("depth", ctypes.c_int), ("bytes_per_line", ctypes.c_int), ("bits_per_pixel", ctypes.c_int),
    ]


X_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class Screen:
    """A connection to the display for screenshots."""

    def __init__(self, display):
        x = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        x.XOpenDisplay.restype = ctypes.c_void_p
        x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x.XDefaultRootWindow.restype = ctypes.c_ulong
        x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x.XDisplayWidth.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x.XGetImage.restype = ctypes.POINTER(XImage)
        x.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int,
                                ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
        x.XFree.argtypes = [ctypes.c_void_p]
        # Xlib's default error handler exits the process; report instead.
        self._on_error = X_ERROR_HANDLER(lambda d, e: 0)
        x.XSetErrorHandler.argtypes = [X_ERROR_HANDLER]
        x.XSetErrorHandler(self._on_error)
        self.x = x
        self.d = x.XOpenDisplay(display.encode())
        if not self.d:
            raise RuntimeError("cannot open display " + display)
        self.root = x.XDefaultRootWindow(self.d)
        x.XGetGeometry.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong)] + \
            [ctypes.POINTER(ctypes.c_int)] * 2 + [ctypes.POINTER(ctypes.c_uint)] * 4
        x.XTranslateCoordinates.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_int, ctypes.c_int,
                                            ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_ulong)]

    def geometry(self, window):
        """Where a window's content is on screen (x, y, width, height), or None when it is gone."""
        root, child = ctypes.c_ulong(), ctypes.c_ulong()
        gx, gy = ctypes.c_int(), ctypes.c_int()
        w, h, border, depth = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
        if not self.x.XGetGeometry(self.d, window, ctypes.byref(root), ctypes.byref(gx), ctypes.byref(gy),
                                   ctypes.byref(w), ctypes.byref(h), ctypes.byref(border), ctypes.byref(depth)):
            return None
        ax, ay = ctypes.c_int(), ctypes.c_int()
        if not self.x.XTranslateCoordinates(self.d, window, self.root, 0, 0, ctypes.byref(ax), ctypes.byref(ay), ctypes.byref(child)):
            return None
        return ax.value, ay.value, w.value, h.value

    def size(self):
        return self.x.XDisplayWidth(self.d, 0), self.x.XDisplayHeight(self.d, 0)

    def png(self, left, top, width, height):
        img_p = self.x.XGetImage(self.d, self.root, left, top, width, height, 0xFFFFFFFF, 2)  # ZPixmap
        if not img_p:
            raise RuntimeError("XGetImage failed")
        img = img_p.contents
        try:
            if img.bits_per_pixel != 32:
                raise RuntimeError("unsupported pixel format: %d bits per pixel" % img.bits_per_pixel)
            stride = img.bytes_per_line
            raw = ctypes.string_at(img.data, stride * img.height)
        finally:
            self.x.XFree(ctypes.cast(img.data, ctypes.c_void_p))
            self.x.XFree(ctypes.cast(img_p, ctypes.c_void_p))
        # BGRX rows -> RGB rows, each prefixed with filter byte 0 (extended slices run in C).
        if stride != width * 4:
            raw = b"".join(raw[r * stride:r * stride + width * 4] for r in range(height))
        rgb = bytearray(width * height * 3)
        rgb[0::3] = raw[2::4]
        rgb[1::3] = raw[1::4]
        rgb[2::3] = raw[0::4]
        row = width * 3
        scan = bytearray((row + 1) * height)
        for r in range(height):
            scan[r * (row + 1) + 1:(r + 1) * (row + 1)] = rgb[r * row:(r + 1) * row]
        return encode_png(width, height, bytes(scan))


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_png(width, height, scanlines):
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(scanlines, 1)) + chunk(b"IEND", b""))


def run(argv, stdin=None, timeout=20):
    done = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, preexec_fn=die_with_parent)
    if done.returncode != 0:
        msg = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
        raise RuntimeError("%s failed (exit %d): %s" % (argv[0], done.returncode, msg[:400]))
    return done.stdout.decode("utf-8", "replace")


def wait_for(check, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("timed out after %d s waiting for %s" % (seconds, what))
        time.sleep(0.02)


def x_listening(number):
    """Does an X server accept connections on this display's abstract socket?"""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect("\0/tmp/.X11-unix/X%d" % number)
        return True
    except OSError:
        return False
    finally:
        sock.close()


def start_xvfb(width, height):
    """Xvfb on the first free display: :0 in a sandbox with its own network namespace; sandboxes
    sharing the host network (internet access) share its abstract sockets, so count up."""
    for number in range(0, 64):
        if x_listening(number):
            continue
        xvfb = spawn(["Xvfb", ":%d" % number, "-screen", "0", "%dx%dx24" % (width, height),
                      "-nolisten", "tcp", "-nolisten", "unix", "-noreset"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while xvfb.poll() is None and not x_listening(number) and time.monotonic() < deadline:
            time.sleep(0.02)
        if x_listening(number):
            return xvfb, ":%d" % number
        xvfb.kill()
        xvfb.wait()
    raise RuntimeError("Xvfb did not start on any display from :0 to :63")


class Desktop:
    def __init__(self, width, height):
        self.width, self.height = width, height
        self.vnc = None
        self.vnc_port = None
        self.xvfb, self.display = start_xvfb(width, height)
        os.environ["DISPLAY"] = self.display
        self.wm = spawn(["openbox", "--sm-disable"], stdout=subprocess.DEVNULL)
        # EWMH ready: wmctrl -m succeeds once the window manager has claimed the screen.
        last = {}

        def wm_ready():
            last["run"] = subprocess.run(["wmctrl", "-m"], capture_output=True)
            return last["run"].returncode == 0

        try:
            wait_for(wm_ready, 20, "the window manager")
        except RuntimeError as e:
            raise RuntimeError("%s (openbox exit %s, wmctrl: %s)" % (e, self.wm.poll(), last.get("run")))
        self.screen = Screen(self.display)

    def screenshot(self, region):
        w, h = self.screen.size()
        if region:
            x, y, rw, rh = (int(region[k]) for k in ("x", "y", "width", "height"))
            if rw <= 0 or rh <= 0 or x < 0 or y < 0 or x + rw > w or y + rh > h:
                raise ValueError("region %dx%d at (%d, %d) is outside the %dx%d screen" % (rw, rh, x, y, w, h))
        else:
            x, y, rw, rh = 0, 0, w, h
        png = self.screen.png(x, y, rw, rh)
        return {"png": base64.b64encode(png).decode("ascii"), "width": rw, "height": rh}

    def windows(self):
        out = run(["wmctrl", "-lpG"])
        windows = []
        for line in out.splitlines():
            parts = line.split(None, 8)
            if len(parts) < 8:
                continue
            wid, desktop, pid, x, y, w, h = parts[:7]
            title = parts[8] if len(parts) > 8 else ""
            # wmctrl's x/y count the frame twice under some window managers; ask X where the content is.
            exact = self.screen.geometry(int(wid, 16))
            if exact:
                x, y, w, h = exact
            windows.append({
                "id": wid, "title": title, "x": int(x), "y": int(y), "width": int(w), "height": int(h),
                "desktop": int(desktop), "pid": int(pid) or None,
            })
        return {"windows": windows}

    def vnc_start(self, password):
        if self.vnc and self.vnc.poll() is None:
            return self.vnc_status()
        argv = ["x11vnc", "-display", self.display, "-forever", "-shared", "-localhost", "-noxdamage",
                "-nolookup", "-quiet", "-autoport", "5900"]
        if password:
            argv += ["-passwd", password]
        else:
            argv += ["-nopw"]
        self.vnc = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # x11vnc prints PORT=<n> once it listens (it moves up from 5900 when that port is taken).
        ready, _, _ = select.select([self.vnc.stdout], [], [], 20)
        line = self.vnc.stdout.readline().decode().strip() if ready else ""
        if not line.startswith("PORT="):
            self.vnc.kill()
            raise RuntimeError("x11vnc did not start (%s)" % (line or "no PORT line in 20 s"))
        self.vnc_port = int(line[5:])
        return self.vnc_status()

    def vnc_stop(self):
        if self.vnc:
            self.vnc.kill()
            self.vnc.wait()
        self.vnc = None
        self.vnc_port = None
        return self.vnc_status()

    def vnc_status(self):
        running = bool(self.vnc and self.vnc.poll() is None)
        return {"running": running, "display": self.display, "port": self.vnc_port if running else None}

    def handle(self, req):
        op = req.get("op")
        if op == "screenshot":
            return self.screenshot(req.get("region"))
        if op == "xdotool":
            run(["xdotool"] + [str(a) for a in req["args"]], timeout=req.get("timeout", 20))
            return {}
        if op == "wmctrl":
            run(["wmctrl"] + [str(a) for a in req["args"]])
            return {}
        if op == "windows":
            return self.windows()
        if op == "clipboard_get":
            try:
                return {"text": run(["xclip", "-selection", "clipboard", "-o"], timeout=5)}
            except RuntimeError:
                return {"text": ""}  # nothing owns the clipboard yet
        if op == "clipboard_set":
            # xclip forks a child that owns the selection; -loops 0 keeps it until replaced.
            subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=req["text"].encode(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=5, check=True)
            return {}
        if op == "vnc_start":
            return self.vnc_start(req.get("password"))
        if op == "vnc_stop":
            return self.vnc_stop()
        if op == "vnc_status":
            return self.vnc_status()
        if op == "display":
            w, h = self.screen.size()
            return {"width": w, "height": h, "depth": 24, "display": self.display}
        raise ValueError("unknown op %r" % op)


def main():
    width, height = int(sys.argv[1]), int(sys.argv[2])
    out = sys.stdout
    try:
        desktop = Desktop(width, height)
    except Exception as e:  # reported, then exit: the host restarts the desktop on the next request
        out.write(json.dumps({"ready": False, "error": str(e)}) + "\n")
        out.flush()
        return 1
    out.write(json.dumps({"ready": True, "display": desktop.display, "width": width, "height": height}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            reply = desktop.handle(req)
            reply.update({"id": req.get("id"), "ok": True})
        except Exception as e:
            reply = {"id": req.get("id"), "ok": False, "error": str(e), "invalid": isinstance(e, ValueError)}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
