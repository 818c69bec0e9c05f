#!/usr/bin/python3
"""A small RTSP client for the go2rtc tests and the bench (Python stdlib only).

Plays one H.264 stream over RTSP with RTP interleaved on the TCP connection
(OPTIONS, DESCRIBE, SETUP, PLAY), as Frigate or VLC do against go2rtc, and
records for every H.264 frame (access unit) received: the CLOCK_MONOTONIC time
(time.monotonic_ns) at which its last RTP packet was read off the socket, its
size, whether it is a keyframe (an IDR slice, or an SPS, whether single, in a
STAP-A or in an FU-A) and its RTP timestamp. Only plain RTSP, to 127.0.0.1.

Usage:
  rtsp_client.py rtsp://127.0.0.1:PORT/NAME [--frames N] [--keyframes N]
                 [--seconds T] [--timeout S] [--annexb PATH]

It stops after N frames, after N keyframes, or T seconds after PLAY was
answered, whichever comes first, and always within --timeout seconds of its
start (default 30). --annexb writes what it received as an Annex-B file (the
SDP's SPS and PPS first) that ffprobe can decode.

Prints one JSON object on stdout when it ends:
  {"end": "frames"|"keyframes"|"seconds"|"timeout"|"closed"|"error",
   "error": "...",                    # only for "error"
   "start_ns", "connected_ns", "describe_ns", "play_sent_ns", "play_ns",
                                      # monotonic ns: start, TCP connected,
                                      # DESCRIBE answered, PLAY sent, answered
   "sdp": "...", "sprop": true|false, # the SDP; whether it had SPS/PPS
   "frames": [[RECV_NS, BYTES, KEYFRAME 0|1, RTP_TIMESTAMP], ...]}
Exit status: 0 for frames/keyframes/seconds, 1 otherwise (the JSON says why).
"""
import argparse
import base64
import json
import re
import socket
import sys
import time

START_CODE = b"\x00\x00\x00\x01"


class RtspError(Exception):
    pass


class Depacketizer:
    """RFC 6184 H.264 RTP depacketizer (single NAL, STAP-A, FU-A): collects
    one access unit's NAL units until the marker bit or a new timestamp."""

    def __init__(self, on_frame):
        self.on_frame = on_frame  # (nal units, rtp timestamp, recv ns)
        self.nals = []
        self.timestamp = None
        self.fu = None  # bytearray of the FU-A being reassembled

    def packet(self, rtp, recv_ns):
        if len(rtp) < 12 or rtp[0] >> 6 != 2:
            return
        csrc = rtp[0] & 0x0F
        extension = rtp[0] & 0x10
        padding = rtp[0] & 0x20
        marker = rtp[1] & 0x80
        timestamp = int.from_bytes(rtp[4:8], "big")
        offset = 12 + 4 * csrc
        if extension and len(rtp) >= offset + 4:
            offset += 4 + 4 * int.from_bytes(rtp[offset + 2:offset + 4], "big")
        end = len(rtp) - (rtp[-1] if padding else 0)
        payload = rtp[offset:end]
        if not payload:
            return
        if self.timestamp is not None and timestamp != self.timestamp and self.nals:
            self.flush(recv_ns)  # the previous frame had no marker bit
        self.timestamp = timestamp
        kind = payload[0] & 0x1F
        if 1 <= kind <= 23:
            self.nals.append(bytes(payload))
        elif kind == 24:  # STAP-A: 16-bit sizes, then the units
            i = 1
            while i + 2 <= len(payload):
                size = int.from_bytes(payload[i:i + 2], "big")
                self.nals.append(bytes(payload[i + 2:i + 2 + size]))
                i += 2 + size
        elif kind == 28 and len(payload) >= 2:  # FU-A
            indicator, header = payload[0], payload[1]
            if header & 0x80:  # start: rebuild the NAL header
                self.fu = bytearray([(indicator & 0xE0) | (header & 0x1F)])
            if self.fu is not None:
                self.fu += payload[2:]
                if header & 0x40:  # end
                    self.nals.append(bytes(self.fu))
                    self.fu = None
        if marker:
            self.flush(recv_ns)

    def flush(self, recv_ns):
        if self.nals:
            self.on_frame(self.nals, self.timestamp, recv_ns)
        self.nals = []
        self.fu = None


def is_keyframe(nals):
    return any(n and (n[0] & 0x1F) in (5, 7) for n in nals)


class Client:
    def __init__(self, url, deadline):
        m = re.match(r"rtsp://(127\.0\.0\.1|localhost):(\d+)(/.*)$", url)
        if not m:
            raise RtspError("only rtsp://127.0.0.1:PORT/PATH is allowed: " + url)
        self.url = url
        self.deadline = deadline
        self.cseq = 0
        self.session = None
        self.buffer = bytearray()
        self.sock = socket.create_connection(("127.0.0.1", int(m.group(2))), timeout=self.left())
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def left(self):
        return max(0.001, self.deadline - time.monotonic())

    def fill(self):
        """Reads more bytes into the buffer; returns their receive time."""
        self.sock.settimeout(self.left())
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            raise TimeoutError
        t = time.monotonic_ns()
        if not data:
            raise EOFError
        self.buffer += data
        return t

    def request(self, method, url, headers=()):
        self.cseq += 1
        lines = ["%s %s RTSP/1.0" % (method, url), "CSeq: %d" % self.cseq, "User-Agent: bambu-stream-tests"]
        if self.session:
            lines.append("Session: " + self.session)
        lines += list(headers)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sent = time.monotonic_ns()
        while True:
            status, headers_, body = self.response()
            if headers_.get("cseq") == str(self.cseq):
                if not status.startswith("RTSP/1.0 200"):
                    raise RtspError("%s: %s" % (method, status))
                return headers_, body, sent

    def item(self):
        """The next whole item in the buffer, taken out of it: ("data",
        channel, payload) for interleaved data, ("reply", status line,
        headers, body) for an RTSP message; None until one is whole."""
        if self.buffer[:1] == b"$":
            if len(self.buffer) < 4:
                return None
            size = int.from_bytes(self.buffer[2:4], "big")
            if len(self.buffer) < 4 + size:
                return None
            item = ("data", self.buffer[1], bytes(self.buffer[4:4 + size]))
            del self.buffer[:4 + size]
            return item
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if len(self.buffer) < end + 4 + length:
            return None
        body = bytes(self.buffer[end + 4:end + 4 + length]).decode("latin-1")
        del self.buffer[:end + 4 + length]
        return ("reply", head[0], headers, body)

    def response(self):
        """The next RTSP reply (status, headers, body), reading as needed;
        interleaved data before it is dropped."""
        while True:
            item = self.item()
            if item is None:
                self.fill()
            elif item[0] == "reply":
                return item[1:]

    def interleaved(self, on_packet):
        """Reads interleaved packets for ever, calling on_packet(channel,
        payload, recv ns) for each; RTSP replies are skipped."""
        while True:
            t = self.fill()
            for item in iter(self.item, None):
                if item[0] == "data":
                    on_packet(item[1], item[2], t)


def sdp_video(sdp, base):
    """(control URL, [SPS, PPS]) of the first H.264 video track."""
    control, sprop, in_video = None, [], False
    for line in sdp.splitlines():
        if line.startswith("m="):
            in_video = line.startswith("m=video")
        elif in_video and line.startswith("a=control:") and control is None:
            control = line[len("a=control:"):].strip()
        elif in_video and line.startswith("a=fmtp:"):
            m = re.search(r"sprop-parameter-sets=([^;\s]+)", line)
            if m:
                sprop = [base64.b64decode(p + "=" * (-len(p) % 4)) for p in m.group(1).split(",") if p]
    if control is None or control == "*":
        url = base
    elif control.startswith("rtsp://"):
        url = control
    else:
        url = base.rstrip("/") + "/" + control
    return url, sprop


def main():
    p = argparse.ArgumentParser(description="RTSP (TCP interleaved) H.264 client for tests")
    p.add_argument("url")
    p.add_argument("--frames", type=int, default=0, help="stop after N frames")
    p.add_argument("--keyframes", type=int, default=0, help="stop after N keyframes")
    p.add_argument("--seconds", type=float, default=0, help="stop T s after PLAY was answered")
    p.add_argument("--timeout", type=float, default=30, help="hard limit from start, in s")
    p.add_argument("--annexb", help="write the H.264 received (Annex-B) here")
    a = p.parse_args()

    result = {"end": None, "start_ns": time.monotonic_ns(), "frames": []}
    hard_deadline = time.monotonic() + a.timeout
    seconds_end = [False]  # the --seconds deadline comes before the hard one
    out = open(a.annexb, "wb") if a.annexb else None
    keyframes = [0]

    class Done(Exception):
        pass

    def on_frame(nals, timestamp, recv_ns):
        size = sum(len(n) for n in nals)
        key = is_keyframe(nals)
        result["frames"].append([recv_ns, size, 1 if key else 0, timestamp])
        keyframes[0] += key
        if out:
            for n in nals:
                out.write(START_CODE + n)
        if a.frames and len(result["frames"]) >= a.frames:
            result["end"] = "frames"
            raise Done
        if a.keyframes and keyframes[0] >= a.keyframes:
            result["end"] = "keyframes"
            raise Done

    depacketizer = Depacketizer(on_frame)
    client = None
    try:
        client = Client(a.url, hard_deadline)
        result["connected_ns"] = time.monotonic_ns()
        client.request("OPTIONS", a.url)
        headers, sdp, _ = client.request("DESCRIBE", a.url, ["Accept: application/sdp"])
        result["describe_ns"] = time.monotonic_ns()
        result["sdp"] = sdp
        track, sprop = sdp_video(sdp, headers.get("content-base", a.url))
        result["sprop"] = bool(sprop)
        if out:
            for n in sprop:
                out.write(START_CODE + n)
        headers, _, _ = client.request("SETUP", track, ["Transport: RTP/AVP/TCP;unicast;interleaved=0-1"])
        client.session = headers.get("session", "").split(";")[0] or None
        _, _, result["play_sent_ns"] = client.request("PLAY", a.url, ["Range: npt=0.000-"])
        result["play_ns"] = time.monotonic_ns()
        if a.seconds and time.monotonic() + a.seconds < hard_deadline:
            client.deadline = time.monotonic() + a.seconds
            seconds_end[0] = True
        client.interleaved(lambda channel, payload, t: channel == 0 and depacketizer.packet(payload, t))
    except Done:
        pass
    except TimeoutError:
        result["end"] = "seconds" if seconds_end[0] else "timeout"
    except EOFError:
        result["end"] = "closed"
    except (OSError, RtspError, ValueError) as e:
        result["end"] = "error"
        result["error"] = str(e)
    if client is not None:
        try:
            client.sock.close()
        except OSError:
            pass
    if out:
        out.close()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0 if result["end"] in ("frames", "keyframes", "seconds") else 1


if __name__ == "__main__":
    sys.exit(main())
