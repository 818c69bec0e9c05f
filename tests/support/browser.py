"""Headless Chromium driven over the Chrome DevTools protocol, for the tests
that open a page as a user would (tests/browser_player_test.py) and for
scripts/make-picture.

Debian's packages only: /usr/bin/chromium and python3-websocket
(scripts/install-deps); run it with Debian's /usr/bin/python3.

    with Browser() as page:                # starts Chromium, a 1280x800 page
        page.open("http://127.0.0.1:PORT/stream.html?src=printer")
        page.wait_for("document.querySelector('video')?.videoWidth > 0", 60)
        png = page.screenshot()
        print(page.console_errors)

Chromium runs with a temporary folder of its own (profile, configuration,
cache) and --remote-debugging-port=0: it picks a free port and writes it to
the DevToolsActivePort file of the profile, which start() reads (with a
deadline). It is started in a process group of its own, and close() ends
only what it started: SIGTERM to the browser's pid, SIGKILL to what is left
of its group, then any process still naming the temporary folder (its crash
handler, which leaves the group), then the folder is removed. Everything a
page asks for off 127.0.0.1 fails (no name resolves but 127.0.0.1) and
Chromium's own background traffic is off, so a page never reaches beyond
this machine.

Every wait has a deadline: a DevTools call that gets no answer in
`call_timeout` seconds raises BrowserError, as does a wait_for() whose
condition stays false, and a connection to Chromium that breaks.
"""
import base64
import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from lifetime import StartedInWith  # tests/support, beside this file

import websocket  # Debian's python3-websocket (websocket-client)

CHROMIUM = "/usr/bin/chromium"
POLL_S = 0.1  # how often a wait looks again

# Chromium's own options: headless, no sandbox (tests run as root), software
# rendering, nothing fetched or shown that a test did not ask for, and no
# name but 127.0.0.1 resolving, so a page's links to the web fail at once
# (and so do the STUN servers go2rtc's player names). WebRTC host
# candidates carry their address, not an mDNS name to be resolved by
# multicast: the WebRTC test checks those addresses (support/netns.py).
FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-breakpad", "--disable-crash-reporter", "--disable-dev-shm-usage",
    "--mute-audio", "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


class BrowserError(Exception):
    """Chromium did not start, did not answer in time, or a wait timed out."""


def available():
    """None if Chromium is here, else why not. (Without python3-websocket,
    importing this module fails.)"""
    if not os.access(CHROMIUM, os.X_OK):
        return "%s not found (Debian package chromium; scripts/install-deps)" % CHROMIUM
    return None


class Browser(StartedInWith):
    """One headless Chromium with one page. A context manager: close() on
    exit, whatever happened. `width` x `height`: the page's viewport in CSS
    pixels (device scale 1, so a screenshot has that many pixels)."""

    def __init__(self, width=1280, height=800, start_timeout=60, call_timeout=30):
        self.width, self.height = width, height
        self.start_timeout, self.call_timeout = start_timeout, call_timeout
        self.console_errors = []  # every error the page reported: dicts of source, text, url (see _event)
        self.folder = None  # temporary: the profile, Chromium's log, its config and cache
        self.profile = None
        self.process = None
        self.log_path = None
        self._ws = None
        self._next_id = 0

    # -- process ---------------------------------------------------------

    def start(self):
        """Starts Chromium and attaches to its first page. Raises
        BrowserError (with Chromium's stderr) if it has not written its
        DevTools port within start_timeout seconds."""
        self.folder = tempfile.mkdtemp(prefix="bambu-browser-")
        self.profile = os.path.join(self.folder, "profile")
        self.log_path = os.path.join(self.folder, "chromium.log")
        # Its configuration and cache (and the crash handler's database) in
        # the temporary folder too: nothing written to $HOME, and every
        # process it starts names that folder on its command line.
        env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(self.folder, "config"),
                   XDG_CACHE_HOME=os.path.join(self.folder, "cache"))
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [CHROMIUM, *FLAGS, "--user-data-dir=" + self.profile,
                 "--window-size=%d,%d" % (self.width, self.height), "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
        port = self._devtools_port()
        self._attach(port)

    def _devtools_port(self):
        """The port from <profile>/DevToolsActivePort (first line), once
        Chromium has written it."""
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserError("chromium exited with %s: %s" % (self.process.returncode, self.log()))
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first.isdigit():
                    return int(first)
            except FileNotFoundError:
                pass
            time.sleep(POLL_S)
        raise BrowserError("chromium wrote no DevToolsActivePort in %d s: %s" % (self.start_timeout, self.log()))

    def _attach(self, port):
        """Connects to the page target's WebSocket and sets up the page."""
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=self.call_timeout) as r:
            targets = json.load(r)
        pages = [t for t in targets if t.get("type") == "page"]
        if not pages:
            raise BrowserError("chromium has no page target: %s" % targets)
        # No Origin header: Chromium refuses DevTools connections from origins
        # it was not told to allow.
        self._ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=self.call_timeout,
                                               suppress_origin=True)
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  width=self.width, height=self.height, deviceScaleFactor=1, mobile=False)

    def log(self):
        """Chromium's stderr so far (its last 4 KiB)."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4096:].decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def close(self):
        """Ends Chromium and everything in its process group, then its crash
        handler (which runs in a session of its own and exits by itself once
        the browser has gone; killed if it has not within 5 s), then removes
        the temporary folder. Safe to call twice."""
        if self._ws is not None:
            try:
                self._ws.close()
            except (OSError, websocket.WebSocketException):
                pass
            self._ws = None
        if self.process is not None:
            end_process_group(self.process)
            self.process = None
        if self.folder is not None:
            end_processes_naming(self.folder, 5)
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = self.profile = None

    # -- DevTools --------------------------------------------------------

    def call(self, method, **params):
        """One DevTools command; returns its result (a dict). Events that
        arrive meanwhile are handled. Raises BrowserError on a protocol
        error or after call_timeout seconds without the answer."""
        self._next_id += 1
        mine = self._next_id
        try:
            self._ws.send(json.dumps({"id": mine, "method": method, "params": params}))
        except (OSError, websocket.WebSocketException) as e:
            raise BrowserError("the connection to chromium broke during %s: %r; %s" % (method, e, self.log()))
        deadline = time.monotonic() + self.call_timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("no answer to %s in %d s" % (method, self.call_timeout))
            self._ws.settimeout(left)
            try:
                message = json.loads(self._ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            except (OSError, websocket.WebSocketException) as e:
                raise BrowserError("the connection to chromium broke during %s: %r; %s" % (method, e, self.log()))
            if message.get("id") == mine:
                if "error" in message:
                    raise BrowserError("%s: %s" % (method, message["error"]))
                return message.get("result", {})
            if "method" in message:
                self._event(message["method"], message.get("params", {}))

    def _event(self, method, params):
        """Keeps what a page reports as an error: console.error() and
        console.assert(), uncaught exceptions, and the browser's own error
        log entries (a failed load, a refused media type)."""
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console_errors.append({"source": "console", "text": text, "url": ""})
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            self.console_errors.append({"source": "exception", "text": text, "url": details.get("url", "")})
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.console_errors.append({"source": entry.get("source", ""), "text": entry.get("text", ""),
                                        "url": entry.get("url", "")})

    def errors_on_this_machine(self):
        """console_errors less the failed loads of URLs off 127.0.0.1: a
        page's links to the web (go2rtc's pages link its icons and manifest
        on go2rtc.org), which fail here by design (FLAGS)."""
        return [e for e in self.console_errors
                if not (e["source"] == "network" and e["url"] and not is_loopback_url(e["url"]))]

    # -- page ------------------------------------------------------------

    def open(self, url):
        """Navigates the page to `url` (returns once the navigation is
        committed; the page's scripts may still be loading)."""
        result = self.call("Page.navigate", url=url)
        if result.get("errorText"):
            raise BrowserError("cannot open %s: %s" % (url, result["errorText"]))

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (awaited if a
        promise; returned by value, so it must be JSON-like). Raises
        BrowserError if it throws."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError("%s threw: %s" % (expression, details.get("exception", {}).get("description")
                                                 or details.get("text")))
        return result.get("result", {}).get("value")

    def wait_for(self, expression, timeout_s):
        """Evaluates `expression` every POLL_S until it is truthy; returns
        that value. Raises BrowserError, with the last value, after
        `timeout_s` seconds."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() >= deadline:
                raise BrowserError("still %r after %s s: %s" % (value, timeout_s, expression))
            time.sleep(POLL_S)

    def screenshot(self, clip=None):
        """The page as PNG bytes: the whole viewport, or `clip`, a dict of
        x, y, width, height in CSS pixels."""
        params = {"format": "png"}
        if clip:
            params["clip"] = dict(clip, scale=1)
        return base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])


def is_loopback_url(url):
    """Whether `url` stays on this machine (127.0.0.1, or no host at all)."""
    host = urllib.parse.urlsplit(url).hostname
    return host in ("127.0.0.1", "localhost") or url.startswith(("data:", "blob:", "about:"))


def luma_spread(png):
    """How far a picture is from one flat colour: (standard deviation of
    its luma, 0-255; number of distinct luma levels), from a 320-pixel-wide
    grey copy that Debian's ffmpeg decodes (a project dependency)."""
    grey = subprocess.run(["ffmpeg", "-v", "error", "-i", "-", "-vf", "scale=320:-2,format=gray",
                           "-f", "rawvideo", "-"], input=png, capture_output=True, timeout=60, check=True).stdout
    if not grey:
        raise BrowserError("ffmpeg decoded nothing from the screenshot")
    mean = sum(grey) / len(grey)
    return math.sqrt(sum((v - mean) ** 2 for v in grey) / len(grey)), len(set(grey))


def end_process_group(process, timeout_s=10):
    """Ends a subprocess.Popen started with start_new_session=True, and
    whatever it started in its group: SIGTERM to its pid, up to `timeout_s`
    seconds for it to exit, then SIGKILL to the group. The group is signalled
    before the leader is reaped, so its id cannot yet belong to anyone else.
    Returns the leader's exit status."""
    pid = process.pid
    if process.returncode is None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout_s
        # WNOWAIT: notice the exit without reaping, so the group id stays ours.
        while time.monotonic() < deadline and \
                os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            time.sleep(POLL_S)
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return process.wait()


def end_processes_naming(folder, timeout_s):
    """Waits up to `timeout_s` seconds for every process whose command line
    names `folder` (a temporary folder of ours, so only processes we
    started) to exit, then sends SIGKILL to those left."""
    deadline = time.monotonic() + timeout_s
    while True:
        pids = processes_naming(folder)
        if not pids:
            return
        if time.monotonic() >= deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return
        time.sleep(POLL_S)


def processes_naming(folder):
    """The pids of running (not zombie) processes with `folder` in their
    command line."""
    needle = folder.encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if needle not in f.read():
                    continue  # a zombie's command line is empty
        except OSError:
            continue
        pids.append(int(entry))
    return pids
