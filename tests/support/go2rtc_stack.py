"""A printer under the real go2rtc, for the browser tests
(tests/browser_player_test.py) and scripts/make-picture.

    with Go2rtcStack(binary, {"printer": "mpegts"}) as stack:
        url = stack.page_url("printer", "mse")  # go2rtc's own player

Starts, on 127.0.0.1 only:
  - the camera: `bambu-stream simulate --listen 127.0.0.1:0 --frames-dir
    ../shared/frames/camera-720p` (1280x720 camera-like JPEGs) at `fps`;
  - go2rtc 1.9.14 through go2rtc-loopback (no STUN, mDNS or other listener
    off this machine; ../shared/tools/go2rtc-1.9.14/README.md), on free ports,
    with one stream per entry of `streams`, each
    `exec:BINARY --host 127.0.0.1 --port PORT --access-code 12345678
    --source jpeg --format FORMAT#killsignal=15#killtimeout=5`, as users
    write it, or, for an entry whose value holds a ':', that go2rtc source
    as written (`ffmpeg:other_stream#video=h264`: go2rtc's own transcoding,
    with Debian's ffmpeg). go2rtc starts bambu-stream when a client first
    asks for the stream and stops it with SIGTERM when the last one leaves.
    WebRTC listens on 127.0.0.1 (API port + 2), where go2rtc answers no ICE
    check; with `webrtc_everywhere`, on every address of the network
    namespace instead (GO2RTC_WEBRTC_LISTEN, a free port), which go2rtc
    then offers as host candidates: only inside the namespace that
    support/netns.py makes, from which nothing leaves.
Each process runs in a process group of its own; close() ends go2rtc
(SIGTERM to its launcher, which passes it on and waits; go2rtc ends its
exec: children) and then the camera, SIGKILL to each group after 15 s, and
removes the temporary folder. Every wait has a deadline (StackError).

go2rtc is $GO2RTC_BIN (go2rtc-loopback beside it, else the shared one), else
../shared/tools/go2rtc-1.9.14/go2rtc, as the C++ tests find it
(tests/support/go2rtc.h); missing() says what is not here.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from lifetime import StartedInWith  # tests/support, beside this file

import netns
from browser import POLL_S, end_process_group

HERE = os.path.dirname(os.path.realpath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared"))
GO2RTC_DIR = os.path.join(SHARED, "tools", "go2rtc-1.9.14")
FRAMES_DIR = os.path.join(SHARED, "frames", "camera-720p")
ACCESS_CODE = "12345678"  # the simulator's; a test value, never a printer's
START_TIMEOUT_S = 30


class StackError(Exception):
    """A process did not start, or did not become ready in time."""


def go2rtc_tools():
    """(go2rtc, go2rtc-loopback) if both are here and executable, else None."""
    env = os.environ.get("GO2RTC_BIN")
    if env:
        candidates = [(env, os.path.join(os.path.dirname(env), "go2rtc-loopback")),
                      (env, os.path.join(GO2RTC_DIR, "go2rtc-loopback"))]
    else:
        candidates = [(os.path.join(GO2RTC_DIR, "go2rtc"), os.path.join(GO2RTC_DIR, "go2rtc-loopback"))]
    for go2rtc, loopback in candidates:
        if os.access(go2rtc, os.X_OK) and os.access(loopback, os.X_OK):
            return go2rtc, loopback
    return None


def missing():
    """None if go2rtc and the camera-720p frames are here, else what is not."""
    if go2rtc_tools() is None:
        return "go2rtc not found: neither $GO2RTC_BIN nor %s/go2rtc with go2rtc-loopback" % GO2RTC_DIR
    if not os.path.exists(os.path.join(FRAMES_DIR, "frame_001.jpg")):
        return "the camera-720p frames are missing: %s" % FRAMES_DIR
    return None


def cli_env_vars():
    """Every environment variable bambu-stream reads, as listed (and kept
    true by cli_test) in tests/support/cli_env.h: removed from the children's
    environment, so the caller's cannot change what a test sees."""
    with open(os.path.join(HERE, "cli_env.h")) as f:
        text = f.read()
    listed = re.search(r"k_cli_env_vars = \{(.*?)\};", text, re.S)
    if not listed:
        raise StackError("no k_cli_env_vars list in cli_env.h")
    return re.findall(r'"([A-Z0-9_]+)"', listed.group(1))


def free_port():
    """A TCP port of 127.0.0.1 that was free a moment ago (bound to port 0
    and released: go2rtc's configuration cannot take port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def http_status(url):
    """The HTTP status of GET `url` (2 s at most), or None if nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class Go2rtcStack(StartedInWith):
    """The camera and go2rtc, started by start() (or `with`). `streams`:
    stream name -> bambu-stream's --format (mpegts, mjpeg, ...), or a go2rtc
    source holding a ':'. `fps`: the camera's frame rate (0.01 to 120).
    `webrtc_everywhere`: go2rtc's WebRTC on every address (a free port),
    only inside support/netns.py's namespace (StackError elsewhere); else on
    127.0.0.1."""

    def __init__(self, binary, streams, fps=1, webrtc_everywhere=False):
        if re.search(r"[\s#]", binary):
            raise StackError("go2rtc splits exec: lines at spaces and '#': %s" % binary)
        if webrtc_everywhere and not netns.inside():
            raise StackError("go2rtc's WebRTC may listen beyond 127.0.0.1 only inside the test's network namespace")
        self.binary, self.streams, self.fps = binary, streams, fps
        self.webrtc_everywhere = webrtc_everywhere
        self.folder = tempfile.mkdtemp(prefix="bambu-go2rtc-stack-")
        self.env = {k: v for k, v in os.environ.items() if k not in cli_env_vars() and k != "GO2RTC_WEBRTC_LISTEN"}
        self.camera = self.go2rtc = None
        self.camera_port = self.api_port = None

    def start(self):
        self._start_camera()
        for _ in range(3):  # a free port may be taken before go2rtc binds it
            if self._start_go2rtc():
                return
        raise StackError("go2rtc did not start: " + self.go2rtc_log())

    def _spawn(self, argv, log_name):
        with open(os.path.join(self.folder, log_name), "wb") as log:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env,
                                    start_new_session=True)

    def _start_camera(self):
        self.camera = self._spawn([self.binary, "simulate", "--listen", "127.0.0.1:0", "--access-code", ACCESS_CODE,
                                   "--fps", "%g" % self.fps, "--frames-dir", FRAMES_DIR], "camera.log")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            found = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.camera_log())
            if found:
                self.camera_port = int(found.group(1))
                return
            if self.camera.poll() is not None:
                break
            time.sleep(POLL_S)
        raise StackError("the simulator is not listening: " + self.camera_log())

    def exec_source(self, fmt):
        """The exec: line of a stream of bambu-stream in format `fmt`."""
        return ("exec:%s --host 127.0.0.1 --port %d --access-code %s --source jpeg --format %s"
                "#killsignal=15#killtimeout=5" % (self.binary, self.camera_port, ACCESS_CODE, fmt))

    def _start_go2rtc(self):
        """One try on fresh ports: True once the API answers and RTSP listens,
        False if go2rtc ended or a port was taken (then it is stopped)."""
        go2rtc, loopback = go2rtc_tools()
        streams_path = os.path.join(self.folder, "streams.yaml")
        with open(streams_path, "w") as f:
            f.write("streams:\n")
            for name, source in self.streams.items():
                f.write("  %s: %s\n" % (name, source if ":" in source else self.exec_source(source)))
        self.api_port = free_port()
        webrtc_port = self.api_port + 2  # go2rtc-loopback's, on 127.0.0.1
        if self.webrtc_everywhere:
            webrtc_port = free_port()
            while webrtc_port == self.api_port:
                webrtc_port = free_port()
            self.env["GO2RTC_WEBRTC_LISTEN"] = ":%d" % webrtc_port
        rtsp_port = free_port()
        while rtsp_port in (self.api_port, webrtc_port):
            rtsp_port = free_port()
        log = os.path.join(self.folder, "go2rtc.log")
        if os.path.exists(log):
            os.remove(log)
        self.env["GO2RTC_BIN"] = go2rtc
        self.go2rtc = self._spawn([loopback, streams_path, str(self.api_port), str(rtsp_port), log], "loopback.log")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if http_status(self.api_url("/api")) == 200 and "[rtsp] listen" in self.go2rtc_log():
                return True
            if self.go2rtc.poll() is not None or "address already in use" in self.go2rtc_log():
                break
            time.sleep(POLL_S)
        end_process_group(self.go2rtc, 15)
        self.go2rtc = None
        return False

    def api_url(self, path):
        return "http://127.0.0.1:%d%s" % (self.api_port, path)

    def page_url(self, name, mode):
        """go2rtc's own player page for stream `name` in `mode` (mse, mjpeg...)."""
        return self.api_url("/stream.html?src=%s&mode=%s" % (name, mode))

    def camera_log(self):
        return read_text(os.path.join(self.folder, "camera.log"))

    def go2rtc_log(self):
        """go2rtc's log (its exec: children's stderr included)."""
        return read_text(os.path.join(self.folder, "go2rtc.log")) + read_text(os.path.join(self.folder, "loopback.log"))

    def close(self):
        """Stops go2rtc, then the camera; removes the temporary folder.
        Safe to call twice."""
        for attr in ("go2rtc", "camera"):
            process = getattr(self, attr)
            if process is not None:
                end_process_group(process, 15)
                setattr(self, attr, None)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
