#!/usr/bin/python3
"""bench/run's measurements: bambu-stream side by side with its alternatives.

Everything runs on this machine, on 127.0.0.1 only, with no network:
  - port 6000: `bambu-stream simulate` (1280x720 JPEGs over TLS) feeding
    bambu-stream and bench/reference_client.py (the plain Python client);
    the floor is `openssl speed -evp aes-256-gcm` on the same bytes;
  - RTSPS: tests/support/rtsps_server.py (gst-rtsp-server, 1280x720 H.264
    over TLS) feeding bambu-stream and `ffmpeg -rtsp_transport tcp -i
    rtsps://... -c copy -f mpegts -`;
  - scale: 20 bambu-stream processes at 2 fps from one simulator.
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
import os
import re
import select
import shutil
import signal
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

    def __init__(self, argv, stop_after_s=None, keep=0):
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        try:
            fcntl.fcntl(read_fd, F_SETPIPE_SZ, 1 << 20)
        except OSError:
            pass  # above /proc/sys/fs/pipe-max-size: keep the default
        self.start_ns = now_ns()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=write_fd,
                                     stderr=subprocess.DEVNULL)
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
        self.hwm_kb = max(self.hwm_kb, rss_kb(self.proc.pid, "VmHWM"))
        self.hwm_read_ns = t_ns

    def drain(self, timeout_s):
        """Reads stdout until EOF (with stop_after_s: until that long after
        the first byte, then SIGTERM, and on to EOF). Kills the process if it
        has not ended within `timeout_s`. Then reaps it."""
        deadline = time.monotonic() + timeout_s
        killed = False
        while True:
            if (self.stop_after_s is not None and self.first_ns is not None and self.stop_ns is None
                    and now_ns() >= self.first_ns + self.stop_after_s * 1e9):
                self.cpu_at_stop_ns = task_cpu_ns(self.proc.pid)
                self.stop_ns = now_ns()
                self.sample_hwm(self.stop_ns)
                self.proc.send_signal(signal.SIGTERM)
            left = deadline - time.monotonic()
            if left <= 0 and not killed:
                log("%s: no end within %.0f s, killing it" % (os.path.basename(self.proc.args[0]), timeout_s))
                self.proc.kill()
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
                self.cpu_at_first_ns = task_cpu_ns(self.proc.pid)
            self.total += n
            self.reads.append((t, self.total))
            if t - self.hwm_read_ns > 20e6:
                self.sample_hwm(t)
        os.close(self.fd)
        self.data = memoryview(self.buffer)[:self.total] if self.keep else b""
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.cpu_total_ns = int((usage.ru_utime + usage.ru_stime) * 1e9)
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

    def __init__(self, binary, workdir, name, fps, max_sessions):
        self.timing = os.path.join(workdir, name + ".timing")
        self.log = os.path.join(workdir, name + ".log")
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [binary, "simulate", "--listen", "127.0.0.1:0", "--access-code", ACCESS_CODE,
                 "--fps", str(fps), "--max-sessions", str(max_sessions), "--timing", self.timing, "-q"],
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


def table(args, stream, first, floor, rtsps_results, scale_result):
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
    print()
    print("Machine: " + machine())
    missing = [row[0] for row in rows if "n/a" in row[1:3]]
    for figure in missing:
        log("missing figure: " + figure)
    return not missing


def main():
    p = argparse.ArgumentParser(description="bambu-stream benchmarks (see bench/run)")
    p.add_argument("--binary", default=os.path.join(ROOT, "build", "release", "bambu-stream"))
    p.add_argument("--python", default="/usr/bin/python3")
    p.add_argument("--quick", action="store_true", help="one short run of each, for CI: checks nothing is broken")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--only", default="floor,stream,first,rtsps,scale",
                   help="comma-separated parts to run (for profiling); the others show n/a")
    a = p.parse_args()
    a.fps = 120  # the simulator's top rate
    a.rtsps_fps = 30
    a.scale_processes = 20
    if a.quick:
        a.runs, a.first_runs, a.frames, a.aes_runs, a.aes_seconds = 1, 2, 60, 1, 1
        a.rtsps_seconds, a.scale_seconds = 2, 2
    else:
        a.first_runs, a.frames, a.aes_runs, a.aes_seconds = 2 * a.runs + 1, 600, 3, 2
        a.rtsps_seconds, a.scale_seconds = 20, 20
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
        complete = table(a, stream, first, floor, rtsps_results, scale_result)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
