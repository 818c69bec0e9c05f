#!/usr/bin/python3
"""Minimal RTSPS client that never sends a keepalive.

OPTIONS, DESCRIBE (Digest), SETUP (interleaved TCP), PLAY, then it only reads
until the server closes the connection. Prints each response's status line and
headers to stderr, then one line "closed after S s, N bytes" on stdout (S
counted from the PLAY reply). Shows that the server enforces its session
timeout, which is what a client's keepalives are there to prevent.

  rtsps_idle_client.py [--plain] URL        e.g. rtsps://bblp:CODE@127.0.0.1:PORT/streaming/live/1
"""
import hashlib
import re
import socket
import ssl
import sys
import time
from urllib.parse import urlsplit


def main():
    plain = "--plain" in sys.argv
    u = urlsplit([x for x in sys.argv[1:] if x != "--plain"][0])
    url = "%s://%s:%d%s" % (u.scheme, u.hostname, u.port, u.path)
    sock = socket.create_connection((u.hostname, u.port), timeout=120)
    if not plain:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # self-signed, like the printer
        sock = ctx.wrap_socket(sock)
    buf, cseq, auth, session = b"", 0, None, None

    def request(method, uri, *headers):
        nonlocal buf, cseq
        cseq += 1
        lines = ["%s %s RTSP/1.0" % (method, uri), "CSeq: %d" % cseq, *headers]
        if auth:
            ha1 = hashlib.md5(("%s:%s:%s" % (u.username, auth[0], u.password)).encode()).hexdigest()
            ha2 = hashlib.md5(("%s:%s" % (method, uri)).encode()).hexdigest()
            resp = hashlib.md5(("%s:%s:%s" % (ha1, auth[1], ha2)).encode()).hexdigest()
            lines.append('Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                         'response="%s"' % (u.username, auth[0], auth[1], uri, resp))
        if session:
            lines.append("Session: " + session)
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(65536)
        head, buf = buf.split(b"\r\n\r\n", 1)
        head = head.decode()
        sys.stderr.write(head + "\n\n")
        n = int(re.search(r"(?im)^content-length:\s*(\d+)", head).group(1)) \
            if re.search(r"(?im)^content-length:", head) else 0
        while len(buf) < n:
            buf += sock.recv(65536)
        body, buf = buf[:n].decode(), buf[n:]
        return int(head.split()[1]), head, body

    request("OPTIONS", url)
    status, head, _ = request("DESCRIBE", url, "Accept: application/sdp")
    if status == 401:
        m = re.search(r'(?im)^www-authenticate:\s*digest\s.*realm="([^"]*)".*nonce="([^"]*)"', head)
        auth = (m.group(1), m.group(2))
        status, head, sdp = request("DESCRIBE", url, "Accept: application/sdp")
    assert status == 200, status
    sys.stderr.write(sdp + "\n")
    control = re.search(r"(?m)^a=control:(\S+)", sdp.split("m=video", 1)[1]).group(1)
    track = control if "://" in control else url.rstrip("/") + "/" + control
    status, head, _ = request("SETUP", track, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1")
    session = re.search(r"(?im)^session:\s*([^;\r\n]+)", head).group(1).strip()
    request("PLAY", url, "Range: npt=0.000-")
    start, total = time.monotonic(), len(buf)
    while True:
        try:
            data = sock.recv(65536)
        except (ConnectionError, ssl.SSLError):
            data = b""
        if not data:
            break
        total += len(data)
    print("closed after %.1f s, %d bytes" % (time.monotonic() - start, total), flush=True)


if __name__ == "__main__":
    main()
