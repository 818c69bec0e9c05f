#!/usr/bin/python3
"""go2rtc's own player in a real browser: the built bambu-stream as an exec:
source of go2rtc 1.9.14, the camera `bambu-stream simulate` serving
camera-720p at 1 fps, and headless Chromium (tests/support/browser.py) on
go2rtc's page stream.html, as a user opens it.

  --mode mse    stream `printer`, --format mpegts (H.264): stream.html?mode=mse
                must play a <video> of 1280x720 whose currentTime advances.
  --mode mjpeg  stream `printer`, --format mjpeg: in this mode go2rtc's
                player shows each JPEG as the <video>'s poster (a data: URL),
                which must decode to 1280x720 and change from frame to frame.
  --mode webrtc stream `printer`, --format mpegts: stream.html?mode=webrtc
                must play a 1280x720 <video> whose currentTime advances, fed
                by the page's RTCPeerConnection: the player's mode label says
                RTC, the connection is `connected`, its H.264 track decodes
                1280x720 frames and goes on decoding, and the candidate pair
                in use joins two addresses of the veth pair. go2rtc answers
                no ICE check on 127.0.0.1, so this mode runs itself again
                in a network namespace of its own (support/netns.py), with
                go2rtc's WebRTC listening on its veth addresses and Chromium
                inside too: nothing leaves the namespace.
All: the screenshot is not one flat colour (a real picture is on the page),
and the page reported no error (console.error, an uncaught exception, a
failed load or refused media), apart from the loads of its links to
go2rtc.org, which fail here because nothing may leave the machine. The
screenshot is written to --screenshot, for whoever looks at the run.

Usage: browser_player_test.py --binary BAMBU_STREAM --mode mse|mjpeg|webrtc --screenshot PNG
Exit status: 0 passed, 1 failed, 77 skipped (ctest's SKIP_RETURN_CODE: no
Chromium or python3-websocket, no go2rtc, or no camera-720p frames; for
webrtc, no right to make a network namespace with a veth pair).
Prints the time from opening the page to the first picture.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
import netns  # noqa: E402 (the standard library only, unlike browser and go2rtc_stack)

SKIP = 77
FIRST_PICTURE_S = 60  # generous: a slow shared machine, or a sanitizer build
ADVANCE_S = 30
# A real picture: camera-720p's frames have a luma deviation over 40 and
# some 200 levels; a flat page (black, or a grey box) has one or two.
MIN_DEVIATION, MIN_LEVELS = 10, 32

VIDEO = "document.querySelector('video-stream video')"
MSE_PLAYING = """(() => { const v = %s;
  return v && v.videoWidth > 0 && v.currentTime > 0 ? {width: v.videoWidth, height: v.videoHeight,
                                                       time: v.currentTime} : null })()""" % VIDEO
MSE_TIME = "%s.currentTime" % VIDEO
# What the page's WebRTC connection says of itself: go2rtc's player
# (video-stream.js, video-rtc.js) keeps it as `pc`, sets `pcState` to
# WebSocket.OPEN and its mode label to "RTC" once the <video> shows its
# stream; getStats() gives the decoded video track and the candidate pair in use.
RTC_STATE = """(async () => { const el = document.querySelector('video-stream');
  const pc = el && el.pc; if (!pc) return {connection: 'no RTCPeerConnection'};
  const stats = await pc.getStats(); const all = {}; let video = null, pairId = null;
  stats.forEach(s => { all[s.id] = s;
    if (s.type === 'inbound-rtp' && s.kind === 'video') video = s;
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
  const pair = pairId && all[pairId];
  return {label: el.querySelector('.mode').innerText, pcState: el.pcState, connection: pc.connectionState,
          stream: el.video.srcObject instanceof MediaStream,
          codec: video && video.codecId && all[video.codecId] ? all[video.codecId].mimeType : null,
          frames: video ? video.framesDecoded || 0 : 0,
          width: video && video.frameWidth, height: video && video.frameHeight,
          local: pair ? all[pair.localCandidateId].address : null,
          remote: pair ? all[pair.remoteCandidateId].address : null} })()"""
MJPEG_POSTER = """(async () => { const v = %s;
  if (!v || !v.poster.startsWith('data:image/jpeg;base64,')) return null;
  const img = new Image(); img.src = v.poster; await img.decode();
  return {width: img.naturalWidth, height: img.naturalHeight, poster: v.poster.length + ':' + v.poster.slice(-64)} })()
""" % VIDEO


def skip(why):
    print("SKIPPED: " + why, file=sys.stderr)
    sys.exit(SKIP)


def check(failures, ok, what):
    print(("ok: " if ok else "FAILED: ") + what, file=sys.stderr)
    if not ok:
        failures.append(what)


def watch_mse(page, failures):
    """The <video> plays a 1280x720 picture and its time advances. Returns
    when the first picture was there (time.monotonic)."""
    first = page.wait_for(MSE_PLAYING, FIRST_PICTURE_S)
    seen = time.monotonic()
    check(failures, (first["width"], first["height"]) == (1280, 720),
          "the video is %dx%d (want 1280x720)" % (first["width"], first["height"]))
    page.wait_for("%s > %f" % (MSE_TIME, first["time"] + 1.0), ADVANCE_S)
    check(failures, True, "currentTime went from %.3f past %.3f" % (first["time"], first["time"] + 1.0))
    return seen


def watch_webrtc(page, failures):
    """The <video> plays a 1280x720 picture from the page's WebRTC
    connection, which goes on decoding frames. Returns when the first
    picture was there (time.monotonic)."""
    seen = watch_mse(page, failures)
    rtc = page.evaluate(RTC_STATE)
    check(failures, rtc.get("label") == "RTC" and rtc.get("pcState") == 1 and rtc.get("stream"),
          "the player shows its WebRTC stream: mode label %r (want 'RTC'), pcState %r (want 1, open), "
          "srcObject a MediaStream: %s" % (rtc.get("label"), rtc.get("pcState"), rtc.get("stream")))
    check(failures, rtc["connection"] == "connected", "the RTCPeerConnection is %r" % rtc["connection"])
    check(failures, rtc.get("codec") == "video/H264" and (rtc.get("width"), rtc.get("height")) == (1280, 720),
          "its video track is %s, %sx%s (want video/H264, 1280x720)"
          % (rtc.get("codec"), rtc.get("width"), rtc.get("height")))
    check(failures, rtc.get("local") in netns.ADDRESSES and rtc.get("remote") in netns.ADDRESSES,
          "the candidate pair in use is %s to %s (want addresses of %s)"
          % (rtc.get("local"), rtc.get("remote"), ", ".join(netns.ADDRESSES)))
    before = rtc.get("frames", 0)
    after = page.wait_for("(async () => { const n = (await %s).frames; return n > %d ? n : 0 })()"
                          % (RTC_STATE, before + 1), ADVANCE_S)
    check(failures, True, "the track went on decoding: %d frames, then %d" % (before, after))
    return seen


def enter_namespace():
    """For --mode webrtc: runs this script again in a network namespace of
    its own (support/netns.py) and exits with its status, or exits 77
    saying why it cannot; inside, sets the namespace's links up."""
    if not netns.inside():
        why = netns.unavailable()
        if why:
            skip(why)
        sys.stdout.flush()
        sys.stderr.flush()
        sys.exit(netns.run_inside(sys.argv))
    try:
        netns.set_up()
    except (netns.NetnsError, OSError, subprocess.SubprocessError) as e:
        print("FAILED: the namespace's links: %s" % e, file=sys.stderr)
        sys.exit(1)


def watch_mjpeg(page, failures):
    """The poster decodes as a 1280x720 JPEG, and the next frame replaces it.
    Returns when the first picture was there (time.monotonic)."""
    first = page.wait_for(MJPEG_POSTER, FIRST_PICTURE_S)
    seen = time.monotonic()
    check(failures, (first["width"], first["height"]) == (1280, 720),
          "the poster JPEG is %dx%d (want 1280x720)" % (first["width"], first["height"]))
    page.wait_for("(async () => { const p = await %s; return p && p.poster !== %r })()"
                  % (MJPEG_POSTER.strip(), first["poster"]), ADVANCE_S)
    check(failures, True, "the poster changed to the next frame")
    return seen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--mode", choices=("mse", "mjpeg", "webrtc"), required=True)
    parser.add_argument("--screenshot", required=True)
    args = parser.parse_args()
    try:
        import browser
        import go2rtc_stack
    except ImportError as e:
        skip("%s (Debian package python3-websocket; scripts/install-deps)" % e)
    why = browser.available() or go2rtc_stack.missing()
    if why:
        skip(why)
    webrtc = args.mode == "webrtc"
    if webrtc:
        enter_namespace()

    failures = []
    fmt = {"mse": "mpegts", "mjpeg": "mjpeg", "webrtc": "mpegts"}[args.mode]
    watch = {"mse": watch_mse, "mjpeg": watch_mjpeg, "webrtc": watch_webrtc}[args.mode]
    with go2rtc_stack.Go2rtcStack(args.binary, {"printer": fmt}, fps=1, webrtc_everywhere=webrtc) as stack, \
            browser.Browser(1280, 800) as page:
        try:
            start = time.monotonic()
            page.open(stack.page_url("printer", args.mode))
            seen = watch(page, failures)
            print("%s: first picture %.2f s after opening the page" % (args.mode, seen - start))
            png = page.screenshot()
            with open(args.screenshot, "wb") as f:
                f.write(png)
            deviation, levels = browser.luma_spread(png)
            check(failures, deviation >= MIN_DEVIATION and levels >= MIN_LEVELS,
                  "the screenshot %s is a picture: luma deviation %.1f, %d levels" % (args.screenshot, deviation,
                                                                                       levels))
        except (browser.BrowserError, go2rtc_stack.StackError) as e:
            check(failures, False, str(e))
        errors = page.errors_on_this_machine()
        check(failures, not errors, "the page reported no error: %s" % errors)
        if failures:
            print("every error the page reported: %s\n--- go2rtc's log:\n%s\n--- the camera's log:\n%s"
                  % (page.console_errors, stack.go2rtc_log(), stack.camera_log()), file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
