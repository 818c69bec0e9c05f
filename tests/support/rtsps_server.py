#!/usr/bin/python3
"""RTSPS test server that imitates the camera of a Bambu Lab X1 (port 322).

The real camera is a LIVE555 server (see shared/docs/rtsps.md): RTSP over TLS,
Digest auth (realm "LIVE555 Streaming Media"), one H.264 Constrained Baseline
track sent interleaved over the RTSP TCP connection, SPS/PPS in the SDP, and a
10 s session timeout that needs GET_PARAMETER/OPTIONS keepalives.

Run with the system Python (gst-rtsp-server via PyGObject):
  rtsps_server.py --cert C.pem --key K.pem --access-code CODE [--port N] ...
Prints "listening on 127.0.0.1:PORT" once ready; logs events to stderr.
"""
import argparse
import os
import signal
import sys
import time

import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gio, GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

START = time.monotonic()


def log(msg):
    sys.stderr.write("%.3f %s\n" % (time.monotonic() - START, msg))
    sys.stderr.flush()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0, help="0 = ephemeral")
    p.add_argument("--cert", help="PEM certificate (RTSPS)")
    p.add_argument("--key", help="PEM private key (RTSPS)")
    p.add_argument("--plain", action="store_true", help="plain RTSP, no TLS (debugging)")
    p.add_argument("--user", default="bblp")
    p.add_argument("--access-code", required=True)
    p.add_argument("--path", default="/streaming/live/1")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--gop", type=int, default=0, help="keyframe interval in frames (default: fps)")
    p.add_argument("--inband-sps", action="store_true", help="repeat SPS/PPS before every IDR")
    p.add_argument("--session-timeout", type=int, default=10, help="seconds")
    p.add_argument("--frames-dir", help="serve the frame_NNN.jpg of this directory (from 001, looping) instead "
                   "of a test pattern, at their own size: camera-like pictures, large IDRs")
    p.add_argument("--quantizer", type=int, default=0,
                   help="constant QP instead of x264enc's default bitrate (0: the default)")
    p.add_argument("--frozen-timestamps", action="store_true",
                   help="RTP timestamps that never advance (P2S firmware bug)")
    a = p.parse_args()
    if not a.plain and not (a.cert and a.key):
        p.error("--cert and --key are required unless --plain")
    a.gop = a.gop or a.fps
    return a


def launch_line(a):
    # Live test pattern -> low-latency baseline H.264 (no B-frames; ultrafast
    # and one thread to keep CI CPU low) -> RTP. x264enc itself repeats SPS/PPS
    # (and an SEI) before every IDR unless repeat-headers=0, so with it and
    # config-interval=0 they are only in the SDP's sprop-parameter-sets, like
    # the camera; --inband-sps (config-interval=-1) puts them before each IDR.
    # --frames-dir: the JPEGs are decoded at the camera's rate; `identity
    # sync=true` paces the (not live) file source to the clock.
    if a.frames_dir:
        source = ("multifilesrc location=%s/frame_%%03d.jpg start-index=1 index=1 loop=true "
                  "caps=image/jpeg,framerate=%d/1 ! jpegdec ! videoconvert ! identity sync=true "
                  "! video/x-raw,format=I420" % (a.frames_dir, a.fps))
    else:
        source = ("videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1"
                  % (a.width, a.height, a.fps))
    quality = " pass=quant quantizer=%d" % a.quantizer if a.quantizer else ""
    return (
        "( %s "
        "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=%d bframes=0 "
        "threads=1 aud=false option-string=repeat-headers=0%s "
        "! video/x-h264,profile=constrained-baseline,stream-format=avc "
        "! rtph264pay name=pay0 pt=96 config-interval=%d )"
        % (source, a.gop, quality, -1 if a.inband_sps else 0))


def main():
    a = parse_args()
    Gst.init(None)
    loop = GLib.MainLoop()

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(a))
    factory.set_shared(True)  # one encoder for all clients: cheap on CI
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)  # the camera: interleaved only

    # Digest only (no Basic), LIVE555's realm; only the one user may watch.
    auth = GstRtspServer.RTSPAuth()
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    auth.set_realm("LIVE555 Streaming Media")
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
    auth.add_digest(a.user, a.access_code, token)
    perms = GstRtspServer.RTSPPermissions()
    perms.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
    perms.add_permission_for_role("viewer", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
    factory.set_permissions(perms)
    if not a.plain:
        auth.set_tls_certificate(Gio.TlsCertificate.new_from_files(a.cert, a.key))
        auth.set_tls_authentication_mode(Gio.TlsAuthenticationMode.NONE)
    server.set_auth(auth)
    server.get_mount_points().add_factory(a.path, factory)

    # gst-rtsp-server never expires a session whose media goes interleaved over
    # TCP (it calls gst_rtsp_session_prevent_expire() while the transport is
    # linked): a silent client stayed connected for 100 s in a test. LIVE555
    # drops a session after its timeout without a request, so track the last
    # request of each client, and cut off the idle ones that have a session.
    # (LIVE555 also counts the client's RTCP as liveness; this does not.)
    last_request = {}  # client -> time.monotonic() of its last request

    def on_request(method):
        def handler(client, ctx):
            last_request[client] = time.monotonic()
            res, sid = ctx.request.get_header(GstRtsp.RTSPHeaderField.SESSION, 0)
            log("request %s%s" % (method, " session " + sid if res == GstRtsp.RTSPResult.OK else ""))
            return GstRtsp.RTSPStatusCode.OK  # the pre-*-request signals may refuse; never do
        return handler

    def on_new_session(client, session):
        session.set_timeout(a.session_timeout)  # announced as "Session: ID;timeout=S"
        session.set_property("timeout-always-visible", True)  # even when S is 60

    def on_closed(client):
        log("client closed")
        last_request.pop(client, None)

    def on_client(server, client):
        log("client connected")
        last_request[client] = time.monotonic()
        client.connect("closed", on_closed)
        client.connect("new-session", on_new_session)
        # pre-* signals come before the auth check, so a DESCRIBE answered 401 is logged too.
        for m in ("options", "describe", "setup", "play", "pause", "get-parameter",
                  "set-parameter", "teardown"):
            client.connect("pre-%s-request" % m, on_request(m.upper().replace("-", "_")))

    pool = server.get_session_pool()

    def tick():
        now = time.monotonic()
        idle = [c for c, t in last_request.items() if now - t > a.session_timeout]
        for client in idle:
            sessions = client.session_filter(None)
            if sessions:  # SETUP done, no TEARDOWN
                log("session expired")
                last_request.pop(client)
                for session in sessions:
                    pool.remove(session)  # stops its stream now
                client.close()  # closes the TCP connection; "closed" follows
        pool.cleanup()  # expires sessions left behind by closed connections
        return GLib.SOURCE_CONTINUE

    server.connect("client-connected", on_client)
    GLib.timeout_add(250, tick)

    # A shared live media is still "seekable" (videotestsrc can seek), so every
    # PLAY with "Range: npt=0.000-" (ffmpeg sends it) flush-seeks the pipeline
    # and restarts the RTP timestamps of clients already watching. A camera
    # cannot seek: answer the pipeline's SEEKING query with "not seekable".
    def not_seekable(pad, info):
        if info.get_query().type != Gst.QueryType.SEEKING:
            return Gst.PadProbeReturn.OK
        return Gst.PadProbeReturn.HANDLED  # answered as created: seekable=FALSE

    # --frozen-timestamps: give every frame the first frame's PTS before the
    # payloader, so all RTP timestamps are equal (P2S 01.02.00.00 bug).
    def on_media_configure(factory, media):
        pay = media.get_element().get_by_name("pay0")
        pay.get_static_pad("src").add_probe(Gst.PadProbeType.QUERY_UPSTREAM, not_seekable)
        if not a.frozen_timestamps:
            return
        first = []

        def freeze(pad, info):
            buf = info.get_buffer()
            if not first:
                first.append(buf.pts)
            buf.pts = first[0]
            return Gst.PadProbeReturn.OK
        pay.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, freeze)
    factory.connect("media-configure", on_media_configure)

    # gst-rtsp-server binds with SO_REUSEADDR itself: a restart on the same
    # port works at once, even with connections of the old one in TIME_WAIT.
    if not server.attach(None):
        log("cannot listen on 127.0.0.1:%d" % a.port)
        return 1
    print("listening on 127.0.0.1:%d" % server.get_bound_port(), flush=True)

    def stop():
        loop.quit()
        return GLib.SOURCE_REMOVE
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, stop)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, stop)
    loop.run()
    # Exit at once: a clean GStreamer shutdown could wait on streaming threads.
    log("exit")
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
