#!/usr/bin/python3
"""The reference for bench/run: a plain Python port-6000 camera client.

It does what the Python projects that read a P1/A1 camera do, and nothing
more: ssl (no certificate check, as they do) and struct, send the 80-byte
login, then read a 16-byte header, read the payload it announces and write
the payload to stdout, frame after frame. No reconnects, no checks of the
JPEG, no heartbeat: it is the cheapest honest client, the yardstick
bambu-stream's CPU and memory are compared with.

Usage: reference_client.py --port P --access-code C [--host 127.0.0.1] [--frames N]
stdout: the JPEGs, back to back. Exit 0 after --frames frames (0: never) or
when the camera closes the connection.
"""
import argparse
import socket
import ssl
import struct
import sys


def read_exactly(tls, size):
    """Returns exactly `size` bytes from `tls`, or None if it closes first."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = tls.recv_into(view[got:], size - got)
        if n == 0:
            return None
        got += n
    return buffer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6000)
    parser.add_argument("--access-code", required=True)
    parser.add_argument("--frames", type=int, default=0)
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    login = struct.pack("<IIII", 0x40, 0x3000, 0, 0)
    login += b"bblp".ljust(32, b"\0") + args.access_code.encode().ljust(32, b"\0")

    out = sys.stdout.buffer
    with socket.create_connection((args.host, args.port)) as raw:
        with context.wrap_socket(raw, server_hostname=args.host) as tls:
            tls.sendall(login)
            written = 0
            while args.frames == 0 or written < args.frames:
                header = read_exactly(tls, 16)
                if header is None:
                    break
                size = struct.unpack("<IIII", header)[0]
                payload = read_exactly(tls, size)
                if payload is None:
                    break
                out.write(payload)
                out.flush()
                written += 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BrokenPipeError, KeyboardInterrupt):
        sys.exit(0)
