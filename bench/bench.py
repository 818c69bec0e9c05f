#!/usr/bin/python3
"""bench/run's measurements: bambu-stream side by side with its alternatives.

Everything runs on this machine, on 127.0.0.1 only, with no network:
  - port 6000: `bambu-stream simulate` (1280x720 JPEGs over TLS) feeding
    bambu-stream and bench/reference_client.py (the plain Python client);
    the floor is `openssl speed -evp aes-256-gcm` on the same bytes;
  - RTSPS: tests/support/rtsps_server.py (gst-rtsp-server, 1280x720 H.264
    over TLS) feeding bambu-stream and `ffmpeg -rtsp_transport tcp -i
    rtsps://... -c copy -f mpegts -`;
  - scale: 20 bambu-stream processes at 2 fps from one simulator;
  - encode: `--format mpegts` on camera-720p (`simulate
    --frames-dir`) against our MJPEG piped into go2rtc's `#video=h264`
    ffmpeg command, at 1 and 5 fps; and under the real go2rtc
    (go2rtc-loopback, 127.0.0.1 only) with tests/support/rtsp_client.py.
Every figure is the median over --runs runs, the contenders alternating
within each run. Prints one Markdown table on stdout (progress on stderr)
and exits 0 when every figure was measured, 1 when one is missing.

How each figure is taken (all clocks are CLOCK_MONOTONIC):
  - CPU: user + system time of the process and all its threads. "Streaming"
    CPU excludes start-up: the total from wait4() minus what its threads had
    used (/proc/PID/task/*/schedstat, in ns) when its first byte reached us.
  - Peak RSS: VmHWM of /proc/PID/status, read at least every 20 ms while
    the process runs (the last read is at most that long before it exits).
    Not ru_maxrss: Linux carries the forking process's peak over exec(), so
    it would report this Python script's own size.
  - First frame: from just before fork/exec to the first byte read from the
    process's stdout (a pipe, as go2rtc gives it).
  - Frame latency: the simulator's --timing file says when each frame's last
    byte went into its socket; we note the time of every read() of the
    client's stdout, and a frame has arrived when the bytes read reach the
    sum of the JPEG sizes up to it. The pipe is made 1 MiB (F_SETPIPE_SZ) so
    that a whole frame fits; our own wake-up time is included in the figure.
"""
import argparse
import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ACCESS_CODE = "12345678"
F_SETPIPE_SZ = 1031
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def log(message):
    sys.stderr.write("bench: %s\n" % message)
    sys.stderr.flush()


def now_ns():
    return time.monotonic_ns()


def task_cpu_ns(pid):
    """CPU time (ns) used so far by the live threads of `pid`; 0 if it is gone."""
    total = 0
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def pss_kb(pid):
    """Proportional set size of `pid` in KiB (shared pages split between
    their users), from /proc/PID/smaps_rollup; 0 if it is gone."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid, field="VmRSS"):
    """VmRSS (or VmHWM) of `pid` in KiB; 0 if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def terminate(proc):
    """Stops a process we started: SIGTERM, then SIGKILL after 10 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Run:
    """One client process whose stdout we read, timing every read()."""

    def __init__(self, argv, stop_after_s=None, keep=0, then=None):
        """`then`: a second program reading the first one's stdout (a
        pipeline, as `a | b`); its stdout is read, and CPU and peak RSS are
        the two processes' sums. SIGTERM goes to the first only."""
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        try:
            fcntl.fcntl(read_fd, F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass  # above /proc/sys/fs/pipe-max-size: keep the default
        self.start_ns = now_ns()
        self.procs = []
        if then:
            mid_read, mid_write = os.pipe2(os.O_CLOEXEC)
            self.procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=mid_write,
                                               stderr=subprocess.DEVNULL))
            os.close(mid_write)
            self.procs.append(subprocess.Popen(then, stdin=mid_read, stdout=write_fd, stderr=subprocess.DEVNULL))
            os.close(mid_read)
        else:
            self.procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=write_fd,
                                               stderr=subprocess.DEVNULL))
        self.proc = self.procs[0]
        self.hwm_each = [0] * len(self.procs)
        os.close(write_fd)
        self.fd = read_fd
        self.stop_after_s = stop_after_s
        self.reads = []  # (monotonic ns, bytes read so far)
        self.first_ns = None
        self.cpu_at_first_ns = None
        self.cpu_at_stop_ns = None
        self.stop_ns = None
        self.total = 0
        self.hwm_kb = 0
        self.hwm_read_ns = 0
        # With keep, everything read lands in one buffer allocated (and
        # touched) up front, so that keeping it costs no allocation per read.
        # Without it, every read reuses one 1 MiB scratch buffer.
        self.keep = keep > 0
        self.buffer = bytearray(keep if self.keep else 1 << 20)
        self.data = b""

    def sample_hwm(self, t_ns):
        for i, p in enumerate(self.procs):
            self.hwm_each[i] = max(self.hwm_each[i], rss_kb(p.pid, "VmHWM"))
        self.hwm_kb = sum(self.hwm_each)
        self.hwm_read_ns = t_ns

    def cpu_ns(self):
        return sum(task_cpu_ns(p.pid) for p in self.procs)

    def drain(self, timeout_s):
        """Reads stdout until EOF (with stop_after_s: until that long after
        the first byte, then SIGTERM, and on to EOF). Kills the process if it
        has not ended within `timeout_s`. Then reaps it."""
        deadline = time.monotonic() + timeout_s
        killed = False
        while True:
            if (self.stop_after_s is not None and self.first_ns is not None and self.stop_ns is None
                    and now_ns() >= self.first_ns + self.stop_after_s * 1e9):
                self.cpu_at_stop_ns = self.cpu_ns()
                self.stop_ns = now_ns()
                self.sample_hwm(self.stop_ns)
                self.proc.send_signal(signal.SIGTERM)
            left = deadline - time.monotonic()
            if left <= 0 and not killed:
                log("%s: no end within %.0f s, killing it" % (os.path.basename(self.proc.args[0]), timeout_s))
                for p in self.procs:
                    p.kill()
                killed = True
            if self.stop_after_s is not None and self.first_ns is not None and self.stop_ns is None:
                left = min(left, (self.first_ns + self.stop_after_s * 1e9 - now_ns()) / 1e9)
            ready, _, _ = select.select([self.fd], [], [], max(left, 0.01))
            if not ready:
                continue
            offset = self.total if self.keep else 0
            if offset + (1 << 20) > len(self.buffer):
                self.buffer.extend(bytes(len(self.buffer)))
            n = os.readv(self.fd, [memoryview(self.buffer)[offset:offset + (1 << 20)]])
            t = now_ns()
            if n == 0:
                break
            if self.first_ns is None:
                self.first_ns = t
                self.cpu_at_first_ns = self.cpu_ns()
            self.total += n
            self.reads.append((t, self.total))
            if t - self.hwm_read_ns > 20e6:
                self.sample_hwm(t)
        os.close(self.fd)
        self.data = memoryview(self.buffer)[:self.total] if self.keep else b""
        self.cpu_total_ns = 0
        for p in self.procs:
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            self.cpu_total_ns += int((usage.ru_utime + usage.ru_stime) * 1e9)
        self.maxrss_kb = self.hwm_kb
        return self

    def arrival_ns(self, cumulative):
        """When the bytes read first reached `cumulative`, or None."""
        lo, hi = 0, len(self.reads)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.reads[mid][1] >= cumulative:
                hi = mid
            else:
                lo = mid + 1
        return self.reads[lo][0] if lo < len(self.reads) else None


class Simulator:
    """`bambu-stream simulate` on 127.0.0.1, port 0, with a --timing file."""

    def __init__(self, binary, workdir, name, fps, max_sessions, extra=()):
        self.timing = os.path.join(workdir, name + ".timing")
        self.log = os.path.join(workdir, name + ".log")
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [binary, "simulate", "--listen", "127.0.0.1:0", "--access-code", ACCESS_CODE,
                 "--fps", str(fps), "--max-sessions", str(max_sessions), "--timing", self.timing, "-q"]
                + list(extra),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 20
        self.port = None
        while self.port is None:
            with open(self.log) as f:
                m = re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("simulator did not start; its log: " + open(self.log).read())
            else:
                time.sleep(0.02)

    def frames(self, session):
        """[(frame index, monotonic ns, bytes with header)] sent in `session`."""
        out = []
        with open(self.timing) as f:
            for line in f:
                fields = line.split()
                if len(fields) == 4 and int(fields[0]) == session:
                    out.append((int(fields[1]), int(fields[2]), int(fields[3])))
        return sorted(out)

    def last_session(self):
        with open(self.timing) as f:
            ids = [int(line.split()[0]) for line in f if line.strip()]
        return max(ids) if ids else None

    def stop(self):
        terminate(self.proc)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values, p):
    values = sorted(values)
    if not values:
        return None
    k = min(len(values) - 1, max(0, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[k]


# ---------------------------------------------------------------- port 6000

def port6000_stream(args, workdir):
    """CPU, RSS and latency of both clients at the simulator's top rate."""
    sim = Simulator(args.binary, workdir, "stream", args.fps, 2)
    clients = {
        "ours": [args.binary, "--host", "127.0.0.1", "--source", "jpeg", "--port", str(sim.port),
                 "--access-code", ACCESS_CODE, "--frames", str(args.frames), "-q"],
        "python": [args.python, os.path.join(HERE, "reference_client.py"), "--port", str(sim.port),
                   "--access-code", ACCESS_CODE, "--frames", str(args.frames)],
    }
    results = {name: [] for name in clients}
    try:
        for i in range(args.runs):
            for name, argv in clients.items():
                # Room for every frame at up to 128 KB; it grows if need be.
                run = Run(argv, keep=args.frames << 17).drain(timeout_s=60 + args.frames / args.fps * 3)
                # The simulator notes a frame's time after its send returns,
                # which can be after the client has written it and exited.
                time.sleep(0.1)
                session = sim.last_session()
                sent = sim.frames(session) if session is not None else []
                results[name].append(judge_stream(name, run, sent, args.frames))
                log("port 6000 run %d/%d %s: %s" % (i + 1, args.runs, name, summary(results[name][-1])))
    finally:
        sim.stop()
    return results


def judge_stream(name, run, sent, frames):
    """Per-run figures from one client run and the frames the simulator sent.

    bambu-stream may drop a frame by design (a newer one replaces a frame
    still waiting for a slow reader), so the output is matched to the sent
    frames in order, by size and JPEG markers, skipping the ones missing."""
    result = {"ok": run.proc.returncode == 0 and run.first_ns is not None}
    if not result["ok"]:
        log("%s exited %s after %d bytes" % (name, run.proc.returncode, run.total))
        return result
    out = run.data
    position = 0
    latencies = []
    received = 0  # frames the client took off the network, up to its last written one
    for index, (_, sent_ns, size) in enumerate(sent):
        if position >= len(out):
            break
        jpeg = size - 16  # clients write the JPEG, not the header
        end = position + jpeg
        if (bytes(out[position:position + 2]) != b"\xff\xd8" or bytes(out[end - 2:end]) != b"\xff\xd9"
                or (end < len(out) and bytes(out[end:end + 2]) != b"\xff\xd8")):
            continue  # not this one: it was dropped
        latencies.append(run.arrival_ns(end) - sent_ns)
        position = end
        received = index + 1
    if position != len(out) or len(latencies) != frames:
        log("%s: %d of %d bytes matched the simulator's frames (%d frames)" % (name, position, len(out),
                                                                            len(latencies)))
        result["ok"] = False
        return result
    wire_bytes = sum(size for _, _, size in sent[1:received])
    streaming_ns = run.cpu_total_ns - run.cpu_at_first_ns
    result.update({
        "cpu_per_frame_us": streaming_ns / 1e3 / (received - 1),
        "cpu_per_mb_ms": streaming_ns / 1e6 / (wire_bytes / 1e6),
        "frame_bytes": wire_bytes / (received - 1),
        "dropped": received - frames,
        "cpu_total_ms": run.cpu_total_ns / 1e6,
        "maxrss_mb": run.maxrss_kb / 1024.0,
        "latency_median_ms": statistics.median(latencies) / 1e6,
        "latency_p99_ms": percentile(latencies, 99) / 1e6,
    })
    return result


def port6000_first_frame(args, workdir):
    """Process start to first byte on stdout, at 1 fps, for both clients."""
    sim = Simulator(args.binary, workdir, "first", 1, 2)
    clients = {
        "ours": [args.binary, "--host", "127.0.0.1", "--source", "jpeg", "--port", str(sim.port),
                 "--access-code", ACCESS_CODE, "--frames", "1", "-q"],
        "python": [args.python, os.path.join(HERE, "reference_client.py"), "--port", str(sim.port),
                   "--access-code", ACCESS_CODE, "--frames", "1"],
    }
    results = {name: [] for name in clients}
    try:
        for i in range(args.first_runs):
            for name, argv in clients.items():
                run = Run(argv).drain(timeout_s=30)
                ok = run.proc.returncode == 0 and run.first_ns is not None
                results[name].append((run.first_ns - run.start_ns) / 1e6 if ok else None)
                log("first frame run %d/%d %s: %s ms" % (i + 1, args.first_runs, name, fmt(results[name][-1], 1)))
                time.sleep(0.2)  # let the simulator close the session and free its slot
    finally:
        sim.stop()
    return results


def aes_floor(args):
    """AES-256-GCM decryption throughput (bytes/s) from `openssl speed`, median."""
    rates = []
    for i in range(args.aes_runs):
        out = subprocess.run(["openssl", "speed", "-evp", "aes-256-gcm", "-decrypt", "-bytes", "16384",
                              "-seconds", str(args.aes_seconds)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=True).stdout
        m = re.search(r"^AES-256-GCM\s+([\d.]+)k\s*$", out, re.MULTILINE | re.IGNORECASE)
        if not m:
            raise RuntimeError("cannot read openssl speed's output:\n" + out)
        rates.append(float(m.group(1)) * 1000)
        log("openssl speed run %d/%d: %.0f MB/s" % (i + 1, args.aes_runs, rates[-1] / 1e6))
    return median(rates)


# ---------------------------------------------------------------- RTSPS

class RtspsServer:
    """tests/support/rtsps_server.py at 1280x720, with its stderr lines timed."""

    def __init__(self, args, workdir):
        cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=00M09A350100001", "-keyout", key, "-out", cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.proc = subprocess.Popen(
            [args.python, os.path.join(ROOT, "tests", "support", "rtsps_server.py"), "--access-code", ACCESS_CODE,
             "--cert", cert, "--key", key, "--port", "0", "--width", "1280", "--height", "720",
             "--fps", str(args.rtsps_fps), "--gop", str(args.rtsps_fps * 2)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            raise RuntimeError("rtsps_server.py did not start: " + line + self.proc.stderr.read())
        self.port = int(m.group(1))
        self.events = []  # (monotonic ns, line)
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            with self.lock:
                self.events.append((now_ns(), line.strip()))

    def play_after(self, t_ns):
        """When the first PLAY request after `t_ns` was logged, or None."""
        with self.lock:
            for t, line in self.events:
                if t >= t_ns and "request PLAY" in line:
                    return t
        return None

    def stop(self):
        terminate(self.proc)


def rtsps(args, workdir):
    server = RtspsServer(args, workdir)
    url = "rtsps://bblp:%s@127.0.0.1:%d/streaming/live/1" % (ACCESS_CODE, server.port)
    clients = {
        "ours": [args.binary, "--host", "127.0.0.1", "--source", "rtsps", "--port", str(server.port),
                 "--access-code", ACCESS_CODE, "-q"],
        "ffmpeg": ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                   "-c", "copy", "-f", "mpegts", "-"],
    }
    results = {name: [] for name in clients}
    try:
        for i in range(args.runs):
            for name, argv in clients.items():
                run = Run(argv, stop_after_s=args.rtsps_seconds).drain(timeout_s=30 + args.rtsps_seconds)
                # bambu-stream exits 0 on SIGTERM; ffmpeg's 255 is its normal "interrupted".
                result = {"ok": run.first_ns is not None and run.cpu_at_stop_ns is not None
                          and (name != "ours" or run.proc.returncode == 0)}
                if result["ok"]:
                    play = server.play_after(run.start_ns)
                    window_s = (run.stop_ns - run.first_ns) / 1e9
                    result.update({
                        "first_byte_s": (run.first_ns - run.start_ns) / 1e9,
                        "play_to_first_byte_s": (run.first_ns - play) / 1e9 if play else None,
                        "cpu_per_min_s": (run.cpu_at_stop_ns - run.cpu_at_first_ns) / 1e9 / window_s * 60,
                        "maxrss_mb": run.maxrss_kb / 1024.0,
                        "mb_per_min": run.total / 1e6 / window_s * 60,
                    })
                else:
                    log("%s: no output (exit %s)" % (name, run.proc.returncode))
                results[name].append(result)
                log("RTSPS run %d/%d %s: %s" % (i + 1, args.runs, name, summary(result)))
                time.sleep(0.5)  # the server tears the shared media down between viewers
    finally:
        server.stop()
    return results


# ---------------------------------------------------------------- scale

def scale(args, workdir):
    """N bambu-stream processes at 2 fps from one simulator: total CPU and RSS."""
    n = args.scale_processes
    sim = Simulator(args.binary, workdir, "scale", 2, n)
    procs = []
    pipes = {}
    result = {"ok": False}
    try:
        for _ in range(n):
            read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
            p = subprocess.Popen([args.binary, "--host", "127.0.0.1", "--source", "jpeg", "--port", str(sim.port),
                                  "--access-code", ACCESS_CODE, "-q"],
                                 stdin=subprocess.DEVNULL, stdout=write_fd, stderr=subprocess.DEVNULL)
            os.close(write_fd)
            procs.append(p)
            pipes[read_fd] = p

        def pump(until):
            got = set()
            while time.monotonic() < until:
                ready, _, _ = select.select(list(pipes), [], [], max(0, until - time.monotonic()))
                for fd in ready:
                    if os.read(fd, 1 << 20):
                        got.add(fd)
            return got

        # Every process streaming: each has written a frame since start-up.
        streaming = set()
        deadline = time.monotonic() + 20
        while len(streaming) < n and time.monotonic() < deadline:
            streaming |= pump(time.monotonic() + 0.1)
        if len(streaming) < n:
            log("scale: only %d of %d processes streamed" % (len(streaming), n))
            return result
        pump(time.monotonic() + 1)  # past the start-up of the last ones
        cpu0 = sum(task_cpu_ns(p.pid) for p in procs)
        t0 = now_ns()
        pump(time.monotonic() + args.scale_seconds)
        cpu1 = sum(task_cpu_ns(p.pid) for p in procs)
        t1 = now_ns()
        rss = [rss_kb(p.pid) for p in procs]
        hwm = [rss_kb(p.pid, "VmHWM") for p in procs]
        pss = [pss_kb(p.pid) for p in procs]
        alive = sum(1 for p in procs if p.poll() is None)
        result = {
            "ok": alive == n,
            "cpu_percent": (cpu1 - cpu0) / (t1 - t0) * 100,
            "rss_total_mb": sum(rss) / 1024.0,
            "pss_total_mb": sum(pss) / 1024.0,
            "rss_each_max_mb": max(hwm) / 1024.0,
        }
        log("scale: %s" % summary(result))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for fd in pipes:
            os.close(fd)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        sim.stop()
    failed = [p.returncode for p in procs if p.returncode != 0]
    if failed:
        log("scale: %d processes did not exit 0 on SIGTERM: %s" % (len(failed), failed))
        result["ok"] = False
    return result


# ---------------------------------------------------------------- encode: H.264 from the JPEGs

# go2rtc's own template for `ffmpeg:SRC#video=h264`, fed our MJPEG: the anchor.
ANCHOR_FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "mjpeg", "-i", "-", "-c:v", "libx264",
                 "-g", "50", "-profile:v", "high", "-level:v", "4.1", "-preset:v", "superfast",
                 "-tune:v", "zerolatency", "-pix_fmt", "yuv420p", "-f", "mpegts", "-"]
RTSP_CLIENT = os.path.join(ROOT, "tests", "support", "rtsp_client.py")


def go2rtc_tools():
    """(go2rtc, go2rtc-loopback) as the tests find them: $GO2RTC_BIN (the
    launcher beside it, else the shared one), else ../shared/tools/."""
    shared = os.path.join(ROOT, "..", "shared", "tools", "go2rtc-1.9.14")
    env = os.environ.get("GO2RTC_BIN")
    candidates = ([(env, os.path.join(os.path.dirname(env), "go2rtc-loopback")),
                   (env, os.path.join(shared, "go2rtc-loopback"))] if env
                  else [(os.path.join(shared, "go2rtc"), os.path.join(shared, "go2rtc-loopback"))])
    for binary, loopback in candidates:
        if os.access(binary, os.X_OK) and os.access(loopback, os.X_OK):
            return os.path.realpath(binary), os.path.realpath(loopback)
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Go2rtc:
    """The real go2rtc through go2rtc-loopback (127.0.0.1 only), with a
    `streams:` section; stopped by SIGTERM to the launcher's pid."""

    def __init__(self, workdir, name, streams):
        self.binary, loopback = go2rtc_tools()
        self.log_path = os.path.join(workdir, name + ".go2rtc.log")
        path = os.path.join(workdir, name + ".streams.yaml")
        with open(path, "w") as f:
            f.write(streams)
        for _ in range(3):
            self.api, self.rtsp = free_port(), free_port()
            if self.rtsp in (self.api, self.api + 2):
                continue
            self.proc = subprocess.Popen([loopback, path, str(self.api), str(self.rtsp), self.log_path],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, env=dict(os.environ, GO2RTC_BIN=self.binary))
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.proc.poll() is None:
                if "[api] listen" in self.log() and "[rtsp] listen" in self.log():
                    try:
                        socket.create_connection(("127.0.0.1", self.api), timeout=1).close()
                        return
                    except OSError:
                        pass
                time.sleep(0.02)
            terminate(self.proc)
        raise RuntimeError("go2rtc did not start: " + self.log())

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def url(self, stream):
        return "rtsp://127.0.0.1:%d/%s" % (self.rtsp, stream)

    def stop(self):
        terminate(self.proc)


def rtsp_play(url, options, timeout_s=30):
    """tests/support/rtsp_client.py on `url`: its JSON report."""
    out = subprocess.run([ "/usr/bin/python3", RTSP_CLIENT, url, "--timeout", str(timeout_s)] + options,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         timeout=timeout_s + 10).stdout
    return json.loads(out)


def read_units(path):
    """bambu-stream's --timing file: [(written ns, bytes, keyframe, repeat)];
    a repeat shows the newest picture again between camera frames."""
    units = []
    try:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) == 4:
                    units.append((int(fields[0]), int(fields[1]), fields[2] == "1", fields[3] == "1"))
    except OSError:
        pass
    return units


def wait_for(condition, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


WRITE_SLACK_NS = 20e6  # a frame may reach the client before write(2) returned (tests/support/go2rtc.h)


def align(units, frames):
    """The offset k at which received frame i is written unit k + i, and the
    size spread there: at the right offset, unit TS bytes * 184/188 minus the
    frame's bytes is nearly constant (PES header, PAT/PMT, empty PES), so the
    offset with the least mean deviation from the median wins, among those
    at which no frame arrives before it was written (less a slack); as
    tests/support/go2rtc.h does."""
    best = None
    for k in range(len(units) - len(frames) + 1):
        if any(f[0] < units[k + i][0] - WRITE_SLACK_NS for i, f in enumerate(frames)):
            continue
        diffs = [units[k + i][1] * 184 / 188 - f[1] for i, f in enumerate(frames)]
        mid = statistics.median(diffs)
        spread = sum(abs(d - mid) for d in diffs) / len(diffs)
        if best is None or spread < best[1]:
            best = (k, spread)
    return best


def ts_units(data):
    """The video PES packets of an MPEG-TS stream: [(end offset of its last
    TS packet, payload bytes, random access)], header-only PES (the empty
    PES) left out. The video PID is the first one whose PES has stream id E0."""
    pid = None
    out = []
    current = None  # [end, bytes, key]
    for off in range(0, len(data) - 187, 188):
        if data[off] != 0x47:
            break
        p = ((data[off + 1] & 0x1F) << 8) | data[off + 2]
        pusi = data[off + 1] & 0x40
        afc = (data[off + 3] >> 4) & 3
        body = off + 4
        key = False
        if afc & 2:
            length = data[body]
            if length and data[body + 1] & 0x40:
                key = True
            body += 1 + length
        payload = data[body:off + 188] if afc & 1 else b""
        if pid is None:
            if pusi and payload[:4] == b"\x00\x00\x01\xe0":
                pid = p
            else:
                continue
        if p != pid:
            continue
        if pusi:
            if current and current[1] > 0:
                out.append(tuple(current))
            header = 9 + payload[8] if len(payload) > 8 else len(payload)
            current = [off + 188, len(payload) - header, key]
        elif current:
            current[0] = off + 188
            current[1] += len(payload)
    if current and current[1] > 0:
        out.append(tuple(current))
    return out


def ffprobe_packets(path):
    """[(pts seconds, keyframe)] of the video packets of `path`."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "packet=pts_time,flags", "-of", "csv=p=0", path],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=120).stdout
    packets = []
    for line in out.splitlines():
        fields = line.split(",")
        if len(fields) >= 2 and fields[0] not in ("", "N/A"):
            packets.append((float(fields[0]), "K" in fields[1]))
    return packets


def psnr(path, record, frames, repeats=()):
    """Mean PSNR (dB, ffmpeg's psnr filter, all planes) of the first
    `frames` camera frames of `path` against the JPEGs the simulator sent,
    in order, both brought to yuv420p at limited range (the encoders'
    output). `repeats`: the indices of frames of `path` that repeat the
    picture before them (not camera frames), left out."""
    keep = "select='not(%s)'," % "+".join("eq(n\\,%d)" % i for i in repeats) if repeats else ""
    graph = ("[0:v]" + keep + "trim=end_frame={n},setpts=N/(25*TB),format=yuv420p[a];"
             "[1:v]trim=end_frame={n},setpts=N/(25*TB),scale=out_range=tv,format=yuv420p[b];"
             "[a][b]psnr").format(n=frames)
    out = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-i", path, "-f", "mjpeg", "-i", record,
                          "-lavfi", graph, "-f", "null", "-"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=300).stderr
    m = re.search(r"PSNR y:[\d.inf]+ u:[\d.inf]+ v:[\d.inf]+ average:([\d.]+|inf)", out)
    return float(m.group(1)) if m else None


def jpeg_sizes(record):
    """Sizes of the whole JPEGs in the simulator's --record file."""
    with open(record, "rb") as f:
        data = f.read()
    sizes, start = [], 0
    while True:
        end = data.find(b"\xff\xd9\xff\xd8", start)
        if end < 0:
            if len(data) > start:
                sizes.append(len(data) - start)
            return sizes
        sizes.append(end + 2 - start)
        start = end + 2


def encode_run(args, workdir, name, fps, frames):
    """One contender (ours: bambu-stream --format mpegts; anchor: our MJPEG
    into go2rtc's ffmpeg template) on camera-720p at `fps`, `frames` frames,
    from a fresh simulator (so that its --record holds this run's JPEGs)."""
    tag = "%s-%g" % (name, fps)
    record = os.path.join(workdir, tag + ".sent.mjpeg")
    sim = Simulator(args.binary, workdir, tag, fps, 2,
                    ["--frames-dir", args.frames_dir, "--record", record] +
                    (["--jitter", str(args.jitter_ms)] if fps > 1 else []))
    timing = os.path.join(workdir, tag + ".units")
    heartbeat = os.path.join(workdir, tag + ".hb.json")
    base = [args.binary, "--host", "127.0.0.1", "--source", "jpeg", "--port", str(sim.port),
            "--access-code", ACCESS_CODE, "--frames", str(frames), "-q"]
    try:
        if name == "ours":
            run = Run(base + ["--format", "mpegts", "--timing", timing, "--heartbeat", heartbeat],
                      keep=frames << 18).drain(timeout_s=60 + frames / fps * 3)
        else:
            run = Run(base + ["--format", "mjpeg"], keep=frames << 18,
                      then=ANCHOR_FFMPEG).drain(timeout_s=60 + frames / fps * 3)
        time.sleep(0.1)  # the simulator notes a frame just after its send returns
        session = sim.last_session()
        sent = sim.frames(session) if session is not None else []
    finally:
        sim.stop()
    result = {"ok": all(p.returncode == 0 for p in run.procs) and run.first_ns is not None}
    if not result["ok"]:
        log("%s: exit %s, %d bytes" % (tag, [p.returncode for p in run.procs], run.total))
        return result
    out_path = os.path.join(workdir, tag + ".ts")
    with open(out_path, "wb") as f:
        f.write(run.data)
    units = ts_units(run.data)
    packets = ffprobe_packets(out_path) if name == "ours" else None
    if name == "ours":
        # Camera frames only: the repeats of the start-up burst are units too.
        written = read_units(timing)
        if len(written) != len(units):
            log("%s: %d units written, %d in the stream" % (tag, len(written), len(units)))
            return {"ok": False}
        repeat_indices = [i for i, w in enumerate(written) if w[3]]
        units = [u for u, w in zip(units, written) if not w[3]]
        packets = [p for p, w in zip(packets, written) if not w[3]]
        result["repeats"] = sum(1 for w in written if w[3])
    n = min(len(units), len(sent), frames)
    if n < 3:
        log("%s: only %d access units" % (tag, len(units)))
        return {"ok": False}
    # Latency: the JPEG's last byte sent by the simulator (the client has read
    # it within microseconds on loopback) to its access unit's last byte read
    # from the contender's stdout; frame i is access unit i (none dropped:
    # checked by the counts, and by the heartbeat for ours).
    latencies = [run.arrival_ns(units[i][0]) - sent[i][1] for i in range(1, n)]
    jpegs = jpeg_sizes(record)
    camera_bytes = statistics.mean(jpegs[:n])
    streaming_ns = run.cpu_total_ns - run.cpu_at_first_ns
    result.update({
        "frames": n,
        "cpu_per_frame_ms": streaming_ns / 1e6 / (n - 1),
        "maxrss_mb": run.maxrss_kb / 1024.0,
        "latency_median_ms": statistics.median(latencies) / 1e6,
        "latency_p99_ms": percentile(latencies, 99) / 1e6,
        "psnr_db": psnr(out_path, record, n, repeat_indices if name == "ours" else ()),
        "camera_bytes": camera_bytes,
    })
    if name == "ours":
        try:
            with open(heartbeat) as f:
                result["dropped"] = json.load(f).get("dropped")
        except (OSError, ValueError):
            result["dropped"] = None
        # Past the start-up burst: after the first run of keyframes.
        written = [w for w in written if not w[3]]
        burst = 0
        while burst < len(written) and written[burst][2]:
            burst += 1
        result["burst_frames"] = burst
        past = [u[1] for u in written[burst:]]
        result["bytes_per_frame"] = statistics.mean(past) if past else None
        # PTS against arrival: PTS minus the simulator's send time, whose
        # median is the constant offset between the two clocks; the error is
        # each frame's distance from it (not from the first frame's, whose
        # own error would shift every other frame's).
        pts = [p[0] for p in packets][:n]
        offsets = [pts[i] - sent[i][1] / 1e9 for i in range(len(pts))]
        mid = statistics.median(offsets)
        errors = [abs(o - mid) * 1e3 for o in offsets]
        result["pts_error_max_ms"] = max(errors) if errors else None
        keys = [p[0] for p in packets if p[1]]
        result["keyframe_gap_max_s"] = max((b - a for a, b in zip(keys, keys[1:])), default=None)
    else:
        result["bytes_per_frame"] = run.total / n
    log("encode %s: %s" % (tag, summary(result)))
    return result


def output_fps_cpu(args, workdir):
    """CPU of `--format mpegts` on camera-720p at 1 fps, with and without
    `--output-fps 5` (the start-up burst off in both, so that the difference
    is the repeats alone): ms of CPU per second of streaming, measured from
    the first byte for args.output_fps_seconds, then SIGTERM."""
    sim = Simulator(args.binary, workdir, "outfps", 1, 2, ["--frames-dir", args.frames_dir])
    base = [args.binary, "--host", "127.0.0.1", "--source", "jpeg", "--port", str(sim.port),
            "--access-code", ACCESS_CODE, "--format", "mpegts", "--keyframe-burst", "0", "-q"]
    contenders = {"plain": [], "output_fps_5": ["--output-fps", "5"]}
    results = {name: [] for name in contenders}
    try:
        for i in range(args.encode_runs):
            for name, extra in contenders.items():
                run = Run(base + extra, stop_after_s=args.output_fps_seconds).drain(
                    timeout_s=30 + args.output_fps_seconds)
                ok = run.proc.returncode == 0 and run.cpu_at_stop_ns is not None
                result = {"ok": ok}
                if ok:
                    window_s = (run.stop_ns - run.first_ns) / 1e9
                    result["cpu_ms_per_s"] = (run.cpu_at_stop_ns - run.cpu_at_first_ns) / 1e6 / window_s
                results[name].append(result)
                log("output-fps run %d/%d %s: %s" % (i + 1, args.encode_runs, name, summary(result)))
    finally:
        sim.stop()
    return results


def first_bytes(args, workdir):
    """Process start to first output byte at 1 fps: H.264 (MPEG-TS) against
    our own MJPEG, from the same simulator."""
    sim = Simulator(args.binary, workdir, "first264", 1, 2, ["--frames-dir", args.frames_dir])
    base = [args.binary, "--host", "127.0.0.1", "--source", "jpeg", "--port", str(sim.port),
            "--access-code", ACCESS_CODE, "--frames", "1", "-q", "--format"]
    results = {"mpegts": [], "mjpeg": []}
    try:
        for i in range(args.first_runs):
            for fmt_ in results:
                run = Run(base + [fmt_]).drain(timeout_s=30)
                ok = run.proc.returncode == 0 and run.first_ns is not None
                results[fmt_].append((run.first_ns - run.start_ns) / 1e6 if ok else None)
                time.sleep(0.2)
            log("first byte run %d/%d: H.264 %s ms, MJPEG %s ms" % (i + 1, args.first_runs,
                                                                   fmt(results["mpegts"][-1], 1),
                                                                   fmt(results["mjpeg"][-1], 1)))
    finally:
        sim.stop()
    return results


def exec_line(args, port, extra, hb):
    return ("exec:%s --host 127.0.0.1 --port %d --access-code %s --source jpeg -q --heartbeat %s %s"
            "#killsignal=15#killtimeout=5" % (args.binary, port, ACCESS_CODE, hb, " ".join(extra)))


def stopped(hb):
    try:
        with open(hb) as f:
            return json.load(f).get("state") == "stopped"
    except (OSError, ValueError):
        return False


def go2rtc_on_demand(args, workdir):
    """On-demand start at 1 fps: a new RTSP client's start to its first
    keyframe, for our H.264 and for go2rtc's ffmpeg: route over our MJPEG;
    and for ours, the first unit written to the client's PLAY (what a
    start-up burst must cover)."""
    sim = Simulator(args.binary, workdir, "ondemand", 1, 4, ["--frames-dir", args.frames_dir])
    hb = {k: os.path.join(workdir, "ondemand-%s.hb.json" % k) for k in ("ours", "mjpeg")}
    timing = os.path.join(workdir, "ondemand.units")
    streams = ("streams:\n  p1s_h264: %s\n  p1s_mjpeg: %s\n  p1s: ffmpeg:p1s_mjpeg#video=h264\n"
               % (exec_line(args, sim.port, ["--format", "mpegts", "--timing", timing], hb["ours"]),
                  exec_line(args, sim.port, ["--format", "mjpeg"], hb["mjpeg"])))
    go2rtc = Go2rtc(workdir, "ondemand", streams)
    results = {"ours": [], "ffmpeg_route": [], "play_after_first_unit_ms": []}
    try:
        for i in range(args.go2rtc_runs):
            # A quick run leaves the ffmpeg: route out: 20 s or more per run
            # of CI's budget for a comparison the full run makes.
            routes = [("ours", "p1s_h264", "ours")] + ([] if args.quick else [("ffmpeg_route", "p1s", "mjpeg")])
            for name, stream, key in routes:
                for path in (hb[key], timing):
                    if os.path.exists(path):
                        os.unlink(path)
                # ffmpeg probes the MJPEG for about 20 frames before it encodes: 20 s at 1 fps.
                r = rtsp_play(go2rtc.url(stream), ["--keyframes", "1"], timeout_s=20 if name == "ours" else 45)
                first = next((f for f in r["frames"] if f[2]), None)
                results[name].append((first[0] - r["start_ns"]) / 1e9 if first else None)
                if name == "ours":
                    units = read_units(timing)
                    results["play_after_first_unit_ms"].append(
                        (r["play_ns"] - units[0][0]) / 1e6 if units and "play_ns" in r else None)
                # go2rtc stops the source once the client has gone.
                if not wait_for(lambda: stopped(hb[key]), 15):
                    log("on-demand %s: the source did not stop" % name)
                time.sleep(0.3)  # the simulator frees the slot
            log("on-demand run %d/%d: ours %s s, ffmpeg: route %s s, first unit to PLAY %s ms"
                % (i + 1, args.go2rtc_runs, fmt(results["ours"][-1], 3),
                   fmt(results["ffmpeg_route"][-1] if results["ffmpeg_route"] else None, 3),
                   fmt(results["play_after_first_unit_ms"][-1], 1)))
    finally:
        go2rtc.stop()
        sim.stop()
    return results


def go2rtc_frame_delay(args, workdir):
    """Frame written by bambu-stream (its --timing) to go2rtc's RTSP client,
    at 5 fps on camera-720p, with and without the empty PES."""
    sim = Simulator(args.binary, workdir, "delay", 5, 4, ["--frames-dir", args.frames_dir,
                                                          "--jitter", str(args.jitter_ms)])
    # CRF 28: every keyframe over the 65,535 bytes a PES length can state.
    variants = {"ours": [], "no_empty_pes": ["--no-empty-pes"], "crf28": ["--quality", "28"]}
    timing = {k: os.path.join(workdir, "delay-%s.units" % k) for k in variants}
    hb = {k: os.path.join(workdir, "delay-%s.hb.json" % k) for k in variants}
    streams = "streams:\n" + "".join(
        "  %s: %s\n" % (k, exec_line(args, sim.port, ["--format", "mpegts", "--timing", timing[k]] + extra, hb[k]))
        for k, extra in variants.items())
    go2rtc = Go2rtc(workdir, "delay", streams)
    results = {k: [] for k in variants}
    try:
        for i in range(args.go2rtc_runs):
            for k in variants:
                for path in (timing[k], hb[k]):
                    if os.path.exists(path):
                        os.unlink(path)
                r = rtsp_play(go2rtc.url(k), ["--seconds", str(args.delay_seconds)], timeout_s=args.delay_seconds + 20)
                wait_for(lambda: stopped(hb[k]), 15)
                units = read_units(timing[k])
                frames = r["frames"]
                fit = align(units, frames) if frames and units else None
                if fit is None:
                    results[k].append({"ok": False})
                    log("delay %s: no alignment (%d frames, %d units)" % (k, len(frames), len(units)))
                    continue
                delays = [(f[0] - units[fit[0] + j][0]) / 1e6 for j, f in enumerate(frames)
                          if units[fit[0] + j][0] > r["play_ns"]]
                big = sum(1 for f in frames if f[2] and f[1] > 65535)
                results[k].append({"ok": bool(delays), "median_ms": statistics.median(delays) if delays else None,
                                   "max_ms": max(delays) if delays else None, "idrs_over_64k": big,
                                   "mismatch": fit[1]})
                log("delay run %d/%d %s: %s" % (i + 1, args.go2rtc_runs, k, summary(results[k][-1])))
                time.sleep(0.3)
    finally:
        go2rtc.stop()
        sim.stop()
    return results


def encode(args, workdir):
    """Every H.264 (encode) figure."""
    out = {"first": first_bytes(args, workdir), "runs": {}, "output_fps": output_fps_cpu(args, workdir)}
    for fps, frames in args.encode_rates:
        out["runs"][fps] = {"ours": [], "anchor": []}
        for i in range(args.encode_runs):
            for name in ("ours", "anchor"):
                out["runs"][fps][name].append(encode_run(args, workdir, name, fps, frames))
    if go2rtc_tools() is None:
        log("go2rtc not found ($GO2RTC_BIN or ../shared/tools/go2rtc-1.9.14): its figures are missing")
        out["ondemand"], out["delay"] = {}, {}
    else:
        out["ondemand"] = go2rtc_on_demand(args, workdir)
        out["delay"] = go2rtc_frame_delay(args, workdir)
    return out


def encode_rows(args, e):
    """The H.264 (encode) rows: (figure, bambu-stream, other, ratio, target, verdict)."""
    rows = []
    if not e:
        return rows
    h264, mjpeg = median(e["first"]["mpegts"]), median(e["first"]["mjpeg"])
    diff = None if h264 is None or mjpeg is None else h264 - mjpeg
    rows.append(("H.264: first byte after process start at 1 fps (ms), vs our MJPEG", fmt(h264, 1), fmt(mjpeg, 1),
                 "+" + fmt(diff, 1) + " ms", "≤ MJPEG + 50 ms", verdict(check(diff, lambda d: d <= 50))))
    od = e.get("ondemand", {})
    ours_s, route_s = median(od.get("ours", [])), median(od.get("ffmpeg_route", []))
    rows.append(("H.264: on-demand 1 fps, first decodable frame at a new go2rtc RTSP client (s), vs go2rtc's "
                 "ffmpeg: route", fmt(ours_s), fmt(route_s), fmt(ratio(route_s, ours_s)) + "× less", "< 2 s",
                 verdict(check(ours_s, lambda v: v < 2))))
    play = od.get("play_after_first_unit_ms", [])
    rows.append(("H.264: on-demand 1 fps, our first unit written to the client's PLAY (ms), max of runs",
                 fmt(max([v for v in play if v is not None], default=None), 1), "", "", "", ""))
    d = e.get("delay", {})
    worst = max([r["max_ms"] for r in d.get("ours", []) if r.get("ok")], default=None)
    worst_no = max([r["max_ms"] for r in d.get("no_empty_pes", []) if r.get("ok")], default=None)
    rows.append(("H.264: frame written to go2rtc's RTSP client, 5 fps, worst (ms), vs without the empty PES",
                 fmt(worst, 1), fmt(worst_no, 1), fmt(ratio(worst_no, worst)) + "× less", "< 50 ms",
                 verdict(check(worst, lambda v: v < 50))))
    worst_28 = max([r["max_ms"] for r in d.get("crf28", []) if r.get("ok")], default=None)
    big = min([r["idrs_over_64k"] for r in d.get("crf28", []) if r.get("ok")], default=None)
    rows.append(("H.264: frame written to go2rtc's RTSP client, 5 fps, --quality 28 (IDRs over 64 KB), worst (ms)",
                 fmt(worst_28, 1), "", "%s IDRs > 64 KB" % big, "< 50 ms", verdict(check(worst_28, lambda v: v < 50))))
    med_o = med(d.get("ours", []), "median_ms")
    med_n = med(d.get("no_empty_pes", []), "median_ms")
    rows.append(("H.264: frame written to go2rtc's RTSP client, 5 fps, median (ms), vs without the empty PES",
                 fmt(med_o, 1), fmt(med_n, 1), fmt(ratio(med_n, med_o)) + "× less", "", ""))
    of = e.get("output_fps", {})
    plain, fps5 = med(of.get("plain", []), "cpu_ms_per_s"), med(of.get("output_fps_5", []), "cpu_ms_per_s")
    added = None if plain is None or fps5 is None else fps5 - plain
    rows.append(("H.264 1 fps: CPU added by --output-fps 5, per printer (ms of CPU per second; 10 = 1 % of a core), "
                 "vs without", fmt(fps5, 1), fmt(plain, 1), "+" + fmt(added, 1) + " ms/s", "", ""))
    for fps, _ in args.encode_rates:
        ours, anchor = e["runs"][fps]["ours"], e["runs"][fps]["anchor"]
        tag = "H.264 %g fps" % fps
        lo, la = med(ours, "latency_median_ms"), med(anchor, "latency_median_ms")
        rows.append(("%s: JPEG read to its access unit on stdout, median (ms), vs the anchor" % tag, fmt(lo, 1),
                     fmt(la, 1), fmt(ratio(la, lo)) + "× less", "< 30 ms", verdict(check(lo, lambda v: v < 30))))
        po, pa = med(ours, "latency_p99_ms"), med(anchor, "latency_p99_ms")
        rows.append(("%s: JPEG read to its access unit on stdout, p99 (ms), vs the anchor" % tag, fmt(po, 1),
                     fmt(pa, 1), fmt(ratio(pa, po)) + "× less", "", ""))
        co, ca = med(ours, "cpu_per_frame_ms"), med(anchor, "cpu_per_frame_ms")
        r = ratio(co, ca)
        rows.append(("%s: CPU per frame (ms), vs the anchor's two processes" % tag, fmt(co, 2), fmt(ca, 2),
                     fmt(r) + "×", "≤ 0.8×", verdict(check(r, lambda v: v <= 0.8))))
        qo, qa = med(ours, "psnr_db"), med(anchor, "psnr_db")
        rows.append(("%s: PSNR against the decoded JPEGs (dB), vs the anchor" % tag, fmt(qo, 1), fmt(qa, 1),
                     "", "≥ 40 dB", verdict(check(qo, lambda v: v >= 40))))
        bo, ba, cam = med(ours, "bytes_per_frame"), med(anchor, "bytes_per_frame"), med(ours, "camera_bytes")
        rb = ratio(bo, cam)
        rows.append(("%s: bytes per frame past the start-up burst, vs the camera's JPEG (ratio)" % tag, fmt(bo, 0),
                     fmt(cam, 0), fmt(rb) + "×", "≤ 1.0×", verdict(check(rb, lambda v: v <= 1.0))))
        rows.append(("%s: bytes per frame, anchor, vs the camera's JPEG (ratio)" % tag, fmt(ba, 0), fmt(cam, 0),
                     fmt(ratio(ba, cam)) + "×", "", ""))
        mo, ma = med(ours, "maxrss_mb"), med(anchor, "maxrss_mb")
        rm = ratio(mo, ma)
        rows.append(("%s: peak RSS (MB), vs the anchor's two processes together" % tag, fmt(mo, 1), fmt(ma, 1),
                     fmt(rm) + "×", "≤ 0.7×", verdict(check(rm, lambda v: v <= 0.7))))
        gap = max([r.get("keyframe_gap_max_s") for r in ours if r.get("ok") and r.get("keyframe_gap_max_s")],
                  default=None)
        rows.append(("%s: largest keyframe gap (s)" % tag, fmt(gap, 3), "", "", "≤ %g s" % args.keyframe_interval,
                     # 5 ms: the timer noise KeyframeClock::k_slack_s allows (PTS are arrival times)
                     verdict(check(gap, lambda v: v <= args.keyframe_interval + 5e-3))))
        pts = max([r.get("pts_error_max_ms") for r in ours if r.get("ok") and r.get("pts_error_max_ms") is not None],
                  default=None)
        rows.append(("%s: largest PTS error against arrival (ms)" % tag, fmt(pts, 1), "", "", "≤ 10 ms",
                     verdict(check(pts, lambda v: v <= 10))))
    return rows


# ---------------------------------------------------------------- table

def fmt(value, digits=2):
    return "n/a" if value is None else ("%.*f" % (digits, value))


def summary(result):
    return ", ".join("%s=%s" % (k, fmt(v, 3) if isinstance(v, float) else v) for k, v in result.items())


def med(results, key):
    return median([r.get(key) for r in results if r.get("ok")])


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def check(value, test):
    return None if value is None else bool(test(value))


def machine():
    """One line: CPU model, cores, OS, kernel, OpenSSL."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    debian = "unknown"
    try:
        with open("/etc/debian_version") as f:
            debian = f.read().strip()
    except OSError:
        pass
    openssl = subprocess.run(["openssl", "version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    return "%s, %d cores (nproc), Debian %s, Linux %s, %s" % (model, len(os.sched_getaffinity(0)), debian,
                                                             os.uname().release, openssl)


def table(args, stream, first, floor, rtsps_results, scale_result, encode_results):
    rows = []  # (figure, bambu-stream, other, ratio, target, verdict)
    ours, py = stream["ours"], stream["python"]
    frame_bytes = med(ours, "frame_bytes")
    floor_us = frame_bytes / floor * 1e6 if floor and frame_bytes else None
    floor_mb_ms = 1e6 / floor * 1e3 if floor else None
    cpu_ours, cpu_py = med(ours, "cpu_per_frame_us"), med(py, "cpu_per_frame_us")
    r_floor, r_py = ratio(cpu_ours, floor_us), ratio(cpu_py, cpu_ours)
    rows.append(("port 6000: CPU per frame (µs), vs AES-256-GCM floor", fmt(cpu_ours, 1), fmt(floor_us, 1),
                 fmt(r_floor) + "×", "≤ 2.5×", verdict(check(r_floor, lambda r: r <= 2.5))))
    rows.append(("port 6000: CPU per frame (µs), vs Python client", fmt(cpu_ours, 1), fmt(cpu_py, 1),
                 fmt(r_py) + "× less", "≥ 2× less", verdict(check(r_py, lambda r: r >= 2))))
    mb_ours, mb_py = med(ours, "cpu_per_mb_ms"), med(py, "cpu_per_mb_ms")
    rows.append(("port 6000: CPU per MB (ms), vs AES-256-GCM floor", fmt(mb_ours, 2), fmt(floor_mb_ms, 2),
                 fmt(ratio(mb_ours, floor_mb_ms)) + "×", "", ""))
    rows.append(("port 6000: CPU per MB (ms), vs Python client", fmt(mb_ours, 2), fmt(mb_py, 2),
                 fmt(ratio(mb_py, mb_ours)) + "× less", "", ""))
    rss_ours, rss_py = med(ours, "maxrss_mb"), med(py, "maxrss_mb")
    rows.append(("port 6000: peak RSS (MB), vs Python client", fmt(rss_ours, 1), fmt(rss_py, 1),
                 fmt(ratio(rss_py, rss_ours)) + "× less", "< 12 MB", verdict(check(rss_ours, lambda v: v < 12))))
    ff_ours, ff_py = median(first["ours"]), median(first["python"])
    rows.append(("port 6000: first frame at 1 fps (ms), vs Python client", fmt(ff_ours, 1), fmt(ff_py, 1),
                 fmt(ratio(ff_py, ff_ours)) + "× less", "< 40 ms", verdict(check(ff_ours, lambda v: v < 40))))
    lat_ours, lat_py = med(ours, "latency_median_ms"), med(py, "latency_median_ms")
    rows.append(("port 6000: frame latency, median (ms), vs Python client", fmt(lat_ours, 3), fmt(lat_py, 3),
                 fmt(ratio(lat_py, lat_ours)) + "× less", "< 1 ms", verdict(check(lat_ours, lambda v: v < 1))))
    p99_ours, p99_py = med(ours, "latency_p99_ms"), med(py, "latency_p99_ms")
    rows.append(("port 6000: frame latency, p99 (ms), vs Python client", fmt(p99_ours, 3), fmt(p99_py, 3),
                 fmt(ratio(p99_py, p99_ours)) + "× less", "", ""))

    ro, rf = rtsps_results["ours"], rtsps_results["ffmpeg"]
    fb_ours, fb_ff = med(ro, "first_byte_s"), med(rf, "first_byte_s")
    rows.append(("RTSPS: first output byte (s), vs ffmpeg", fmt(fb_ours), fmt(fb_ff),
                 fmt(ratio(fb_ff, fb_ours)) + "× less", "faster than ffmpeg",
                 verdict(None if fb_ff is None else check(fb_ours, lambda v: v < fb_ff))))
    kf_ours, kf_ff = med(ro, "play_to_first_byte_s"), med(rf, "play_to_first_byte_s")
    rows.append(("RTSPS: first keyframe (PLAY) to first output byte (s), vs ffmpeg", fmt(kf_ours), fmt(kf_ff),
                 fmt(ratio(kf_ff, kf_ours)) + "× less", "≤ 0.5 s", verdict(check(kf_ours, lambda v: v <= 0.5))))
    cpu_o, cpu_f = med(ro, "cpu_per_min_s"), med(rf, "cpu_per_min_s")
    rows.append(("RTSPS: CPU per minute of 1280x720 H.264 (s), vs ffmpeg", fmt(cpu_o, 3), fmt(cpu_f, 3),
                 fmt(ratio(cpu_f, cpu_o)) + "× less", "≤ ffmpeg",
                 verdict(None if cpu_f is None else check(cpu_o, lambda v: v <= cpu_f))))
    rss_o, rss_f = med(ro, "maxrss_mb"), med(rf, "maxrss_mb")
    rows.append(("RTSPS: peak RSS (MB), vs ffmpeg", fmt(rss_o, 1), fmt(rss_f, 1),
                 fmt(ratio(rss_f, rss_o)) + "× less", "", ""))

    s = scale_result if scale_result.get("ok") else {}
    n = args.scale_processes
    rows.append(("scale: %d processes at 2 fps, total CPU (%% of one core)" % n, fmt(s.get("cpu_percent"), 2),
                 "", "", "", ""))
    rows.append(("scale: %d processes at 2 fps, total RSS (MB)" % n, fmt(s.get("rss_total_mb"), 1), "", "", "", ""))
    rows.append(("scale: %d processes at 2 fps, total PSS (MB; shared pages counted once)" % n,
                 fmt(s.get("pss_total_mb"), 1), "", "", "", ""))
    rows.append(("scale: %d processes at 2 fps, peak RSS of one (MB)" % n, fmt(s.get("rss_each_max_mb"), 1),
                 "", "", "< 12 MB", verdict(check(s.get("rss_each_max_mb"), lambda v: v < 12))))

    rows += encode_rows(args, encode_results)

    print("| figure | bambu-stream | other | ratio | target | |")
    print("|---|---:|---:|---:|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print("Port 6000: 1280x720 JPEGs (%.1f KB each on the wire) at %g fps, %d frames per run; "
          "RTSPS: 1280x720 H.264 at %d fps, %g s per run after the first byte; medians of %d runs "
          "(first frame: %d). AES-256-GCM floor: `openssl speed -evp aes-256-gcm -decrypt`, %.0f MB/s."
          % ((frame_bytes or 0) / 1e3, args.fps, args.frames, args.rtsps_fps, args.rtsps_seconds, args.runs,
             args.first_runs, (floor or 0) / 1e6))
    drops = [r.get("dropped") for r in ours if r.get("ok")]
    print()
    print("Frames bambu-stream dropped by design (a newer frame replaces one waiting for a reader that is "
          "more than a frame behind), per run: %s; the Python client blocks instead and drops none."
          % (", ".join(str(d) for d in drops) or "n/a"))
    if encode_results:
        print()
        print("H.264: camera-720p (%s) served by `simulate --frames-dir`, %s; the anchor is our "
              "MJPEG piped into `%s`; per rate, medians of %d runs; go2rtc 1.9.14 through go2rtc-loopback, "
              "%d runs each (frame delay: %g s per run, at 5 fps with --jitter %d); ours is bambu-stream "
              "--format mpegts with its defaults."
              % (args.frames_dir, ", ".join("%g fps x %d frames" % r for r in args.encode_rates),
                 " ".join(ANCHOR_FFMPEG[:1] + ANCHOR_FFMPEG[4:]), args.encode_runs, args.go2rtc_runs, args.delay_seconds,
                 args.jitter_ms))
    print()
    print("Machine: " + machine())
    # go2rtc's ffmpeg: route takes 20 s or more to its first frame: a quick
    # run leaves it out (go2rtc_on_demand), so its figure is n/a there.
    optional = (lambda row: args.quick and "ffmpeg: route" in row[0])
    missing = [row[0] for row in rows if row[1] == "n/a" or (row[2] == "n/a" and not optional(row))]
    for figure in missing:
        log("missing figure: " + figure)
    return not missing


def main():
    p = argparse.ArgumentParser(description="bambu-stream benchmarks (see bench/run)")
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "release", "bambu-stream"))
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--quick", action="store_true", help="one short run of each, for CI: checks nothing is broken")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--frames-dir", default=os.path.join(ROOT, "..", "shared", "frames", "camera-720p"),
                   help="the JPEGs for the H.264 figures")
    p.add_argument("--only", default="floor,stream,first,rtsps,scale,encode",
                   help="comma-separated parts to run (for profiling); the others show n/a")
    a = p.parse_args()
    a.fps = 120  # the simulator's top rate
    a.rtsps_fps = 30
    a.scale_processes = 20
    a.keyframe_interval = 2.0  # bambu-stream's default --keyframe-interval
    a.jitter_ms = 40
    if a.quick:
        a.runs, a.first_runs, a.frames, a.aes_runs, a.aes_seconds = 1, 2, 60, 1, 1
        a.rtsps_seconds, a.scale_seconds = 2, 2
        # Past the 4 s start-up burst at both rates, for the bytes per frame.
        a.encode_rates, a.encode_runs, a.go2rtc_runs, a.delay_seconds = [(1, 6), (5, 30)], 1, 1, 3
        a.output_fps_seconds = 3
    else:
        a.first_runs, a.frames, a.aes_runs, a.aes_seconds = 2 * a.runs + 1, 600, 3, 2
        a.rtsps_seconds, a.scale_seconds = 20, 20
        a.encode_rates, a.encode_runs, a.go2rtc_runs, a.delay_seconds = [(1, 30), (5, 150)], min(a.runs, 3), 3, 10
        a.output_fps_seconds = 20
    for tool in ("openssl", "ffmpeg"):
        if shutil.which(tool) is None:
            log("%s is not installed (scripts/install-deps installs it)" % tool)
            return 2
    if not os.access(a.binary, os.X_OK):
        log("no bambu-stream at %s (build it: cmake --preset release && cmake --build --preset release)" % a.binary)
        return 2
    with tempfile.TemporaryDirectory(prefix="bambu-bench-") as workdir:
        only = a.only.split(",")
        floor = aes_floor(a) if "floor" in only else None
        stream = port6000_stream(a, workdir) if "stream" in only else {"ours": [], "python": []}
        first = port6000_first_frame(a, workdir) if "first" in only else {"ours": [], "python": []}
        rtsps_results = rtsps(a, workdir) if "rtsps" in only else {"ours": [], "ffmpeg": []}
        scale_result = scale(a, workdir) if "scale" in only else {}
        encode_results = encode(a, workdir) if "encode" in only else {}
        complete = table(a, stream, first, floor, rtsps_results, scale_result, encode_results)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
