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
        why = netns.unavailable()          # None, or why not (then skip)
        netns.reexec_inside(sys.argv)      # never returns
    netns.set_up()                         # lo, v0 and v1 up, addressed

reexec_inside() replaces the calling process by util-linux `unshare` with
new network, pid and mount namespaces (and /proc mounted anew), which runs
the same command line as the namespace's pid 1. When that process ends,
the kernel ends every other process of the namespace, so nothing started
inside outlives the test, even on SIGKILL; and `--kill-child` ends it if
`unshare` itself is killed (ctest's timeout). Callers still end their own
processes by pid. As root the namespaces are made directly; otherwise in
a user namespace mapping the caller to root, where the kernel allows it.
"""
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
    """Whether this process is the pid 1 that reexec_inside() started."""
    return os.environ.get(MARK) == "1" and os.getpid() == 1


def reexec_inside(argv):
    """Replaces this process by `unshare ... argv` (argv[0] a script run
    by Debian's /usr/bin/python3). Never returns; raises OSError if unshare
    cannot be executed."""
    os.environ[MARK] = "1"
    os.execv(UNSHARE, unshare_argv() + ["/usr/bin/python3", os.path.abspath(argv[0]), *argv[1:]])


def set_up():
    """Inside the namespace: `lo` up, the veth pair made, addressed and up.
    Also makes SIGTERM end this process as SIGINT does (pid 1 of a
    namespace ignores signals it has no handler for), so that `with`
    blocks still close what they started. Raises NetnsError."""
    if not inside():
        raise NetnsError("not inside the namespace made by reexec_inside()")
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
