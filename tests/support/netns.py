"""A network namespace of the test's own, for WebRTC in a browser
(tests/browser_player_test.py --mode webrtc, bench/first-picture).

go2rtc answers no ICE checks on 127.0.0.1 and Chromium offers no loopback
candidate, so a WebRTC connection between them needs addresses that are
not loopback. The test makes them where nothing can leave the machine: a
fresh network namespace with `lo` up and a veth pair whose two ends both
stay inside it, v0 with 10.77.0.1/24 and v1 with 10.77.0.2/24
(../shared/tools/go2rtc-1.9.14/README.md). Nothing in it routes anywhere
else, so no packet of go2rtc's or of Chromium's leaves the namespace.

    if not netns.inside():
        why = netns.unavailable()               # None, or why not (then skip)
        sys.exit(netns.run_inside(sys.argv))    # the same script, inside
    netns.set_up()                              # lo, v0 and v1 up, addressed

run_inside() runs util-linux `unshare` with new network, pid and mount
namespaces (and /proc mounted anew), which runs the same command line as
the namespace's pid 1, and returns its exit status. When that process
ends, the kernel ends every other process of the namespace, so nothing
started inside outlives it, even on SIGKILL. The chain holds from the top:
the caller's SIGINT and SIGTERM are passed on to pid 1 (which then closes
what it started), and should the caller be killed, `unshare` gets SIGKILL
(PR_SET_PDEATHSIG) and `--kill-child` takes pid 1 with it. Callers still
end their own processes by pid. As root the namespaces are made directly;
otherwise in a user namespace mapping the caller to root, where the kernel
allows it. Temporary files inside are ordinary /tmp files: a SIGKILL
leaves them behind.
"""
import ctypes
import os
import signal
import subprocess

MARK = "BAMBU_TEST_NETNS"  # set in the environment of the command run inside
UNSHARE = "/usr/bin/unshare"
IP = "/usr/sbin/ip"
LINKS = (("v0", "10.77.0.1/24"), ("v1", "10.77.0.2/24"))
ADDRESSES = tuple(address.split("/")[0] for _, address in LINKS)
COMMAND_TIMEOUT_S = 30


class NetnsError(Exception):
    """A link could not be made or brought up inside the namespace."""


def unshare_argv():
    """unshare's options: new network, pid and mount namespaces, /proc
    mounted for the new pid namespace, the command forked as its pid 1 and
    killed if unshare dies; a user namespace too when not root."""
    argv = [UNSHARE, "--net", "--pid", "--mount-proc", "--kill-child"]
    if os.geteuid() != 0:
        argv[1:1] = ["--user", "--map-root-user"]
    return argv


def unavailable():
    """None if this process can make the namespace and its veth pair,
    else why not (one line): no unshare or ip, no right to make
    namespaces (neither root nor unprivileged user namespaces), no veth."""
    for tool, package in ((UNSHARE, "util-linux"), (IP, "iproute2")):
        if not os.access(tool, os.X_OK):
            return "%s not found (Debian package %s)" % (tool, package)
    probe = unshare_argv() + [IP, "link", "add", LINKS[0][0], "type", "veth", "peer", "name", LINKS[1][0]]
    try:
        result = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "%s took over %d s" % (" ".join(probe), COMMAND_TIMEOUT_S)
    if result.returncode != 0:
        why = result.stderr.decode("utf-8", "replace").strip().replace("\n", "; ") or \
            "exit status %d" % result.returncode
        who = "as root" if os.geteuid() == 0 else "as uid %d, in a user namespace" % os.geteuid()
        return "cannot make a network namespace with a veth pair %s: %s" % (who, why)
    return None


def inside():
    """Whether this process is the pid 1 that run_inside() started."""
    return os.environ.get(MARK) == "1" and os.getpid() == 1


def _killed_with_parent():
    """In the child before exec: SIGKILL when the parent dies (PR_SET_PDEATHSIG)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _children(pid):
    """The pids whose parent is `pid` (from /proc/*/stat)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def run_inside(argv):
    """Runs `python3 argv` (argv[0] a script for Debian's /usr/bin/python3)
    as pid 1 of new namespaces and returns its exit status (128 + N if a
    signal N ended it). SIGINT and SIGTERM of this process go to that pid 1
    meanwhile; `unshare` runs in a session of its own, so that a terminal's
    Ctrl-C reaches pid 1 once, from here. Raises OSError if unshare cannot
    be started."""
    env = dict(os.environ, **{MARK: "1"})
    command = unshare_argv() + ["/usr/bin/python3", os.path.abspath(argv[0]), *argv[1:]]
    process = subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=_killed_with_parent)

    def pass_on(signum, _frame):
        for pid in _children(process.pid):  # pid 1 of the namespace, as this one sees it
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    before = {s: signal.signal(s, pass_on) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = process.wait()
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
    return status if status >= 0 else 128 - status


def set_up():
    """Inside the namespace: `lo` up, the veth pair made, addressed and up.
    Also makes SIGTERM end this process as SIGINT does (pid 1 of a
    namespace ignores signals it has no handler for), so that `with`
    blocks still close what they started. Raises NetnsError."""
    if not inside():
        raise NetnsError("not inside the namespace made by run_inside()")
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    (v0, a0), (v1, a1) = LINKS
    for argv in (["link", "set", "lo", "up"],
                 ["link", "add", v0, "type", "veth", "peer", "name", v1],
                 ["addr", "add", a0, "dev", v0], ["addr", "add", a1, "dev", v1],
                 ["link", "set", v0, "up"], ["link", "set", v1, "up"]):
        result = subprocess.run([IP, *argv], stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=COMMAND_TIMEOUT_S)
        if result.returncode != 0:
            raise NetnsError("ip %s: %s" % (" ".join(argv),
                                            result.stderr.decode("utf-8", "replace").strip()))
