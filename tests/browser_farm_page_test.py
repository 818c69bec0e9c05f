#!/usr/bin/python3
"""The farm page of `bambu-stream status --listen` in a real browser.

Starts, on 127.0.0.1 only: two cameras (`bambu-stream simulate`, its 1280x720
test pattern at 2 fps), two streams (`bambu-stream --source jpeg --format
mjpeg`, stdout to /dev/null) each writing `--heartbeat NAME.json` and
`--snapshot NAME.jpg` into one folder, and `status --listen 127.0.0.1:0
--heartbeat-dir FOLDER --go2rtc-url http://127.0.0.1:1984`; then headless
Chromium (tests/support/browser.py) on the status server's page `/`:

  1. two cards, printer-a and printer-b, both "streaming", both snapshots
     loaded as 1280-pixel-wide JPEGs, frame rate and last frame shown, each
     linked to go2rtc's player for its name;
  2. SIGTERM to printer-b's stream (by its pid): its card says "stopped"
     within 5 s of the signal, and printer-a's still says "streaming";
  3. hostile heartbeats written into the folder (a failed one whose
     last_error, print state and print job hold markup, quotes and
     </script>, and one whose state and MQTT error do, with a print_percent
     of the wrong type): their cards show that text as text and the print
     state of the flat --mqtt keys (progress, layer, time left, chamber
     light, the printer link when down; the mistyped key hidden), the DOM
     has no element they tried to add and none of their scripts ran;
  4. a second status server over one --heartbeat whose file name is markup:
     the card's name is that text, its player link encodes it;
  5. at 360 px wide: one card per row, nothing wider than the viewport.
The page must report no error at all (console, exception, failed load,
refused by its Content-Security-Policy). Screenshots of the wide and the
narrow page go to --screenshot-dir (browser_farm_page.png,
browser_farm_page_360.png).

Usage: browser_farm_page_test.py --binary BAMBU_STREAM --screenshot-dir DIR
Exit status: 0 passed, 1 failed, 77 skipped (no Chromium or python3-websocket).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
SKIP = 77
ACCESS_CODE = "12345678"  # the simulator's; a test value, never a printer's
GO2RTC_URL = "http://127.0.0.1:1984"  # only linked, never opened
START_S = 30        # processes ready, first cards with pictures (generous: a loaded machine, ASan)
STOPPED_WITHIN_S = 5
# Markup a heartbeat might carry: tags, an inline handler, quotes, a script end tag, an entity.
HOSTILE_ERROR = "</script><script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">'\"&amp;"
HOSTILE_JOB = "<iframe srcdoc='<script>parent.__pwned=3</script>'></iframe>benchy\"'.3mf"
HOSTILE_PRINT_STATE = "<b onmouseover=window.__pwned=4>RUNNING</b>"
HOSTILE_STATE = "<svg onload=window.__pwned=5>"
HOSTILE_NAME = "<img src=x onerror=window.__pwned=6>\"'&lt;"  # a file name: no '/'

CARDS = """[...document.querySelectorAll('#farm .card')].map((c) => {
  const img = c.querySelector('img.snapshot'), value = (row) => c.querySelector('.row.' + row);
  const shown = (row) => value(row).hidden ? null : value(row).querySelector('.value').textContent;
  return {name: c.querySelector('.name').textContent, state: c.querySelector('.state').textContent,
          detail: c.querySelector('.detail').hidden ? null : c.querySelector('.detail').textContent,
          width: img.hidden || !img.complete ? 0 : img.naturalWidth, src: img.getAttribute('src'),
          fps: shown('fps'), lastFrame: shown('last-frame'), print: !c.querySelector('.print').hidden,
          printState: shown('print-state'), job: shown('job'), progress: shown('progress'),
          layer: shown('layer'), timeLeft: shown('time-left'), light: shown('light'), mqtt: shown('mqtt'),
          player: c.querySelector('.player').hidden ? null : c.querySelector('.player').href}; })"""
# What an injection would leave: its global, or an element the page never makes.
INJECTED = """({pwned: window.__pwned === undefined ? null : String(window.__pwned),
  foreign: document.querySelectorAll('svg, iframe, b, object, embed, #farm script').length,
  scripts: document.scripts.length,
  images: [...document.images].filter((i) => !i.classList.contains('snapshot')).length})"""
LAYOUT = """(() => { const r = [...document.querySelectorAll('#farm .card')].map((c) => c.getBoundingClientRect());
  window.scrollTo(1000, 0);
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, scrollX: window.scrollX,
          lefts: r.map((b) => Math.round(b.left)), rights: r.map((b) => Math.round(b.right)),
          tops: r.map((b) => Math.round(b.top))}; })()"""


def skip(why):
    print("SKIPPED: " + why, file=sys.stderr)
    sys.exit(SKIP)


class Failures(list):
    def check(self, ok, what):
        print(("ok: " if ok else "FAILED: ") + what, file=sys.stderr)
        if not ok:
            self.append(what)


class Processes:
    """The children of this test, each in a process group of its own, their
    stderr in files of `folder`; close() ends each by its own pid and group."""

    def __init__(self, binary, folder, env):
        self.binary, self.folder, self.env = binary, folder, env
        self.started = {}  # name -> Popen

    def start(self, name, args):
        with open(os.path.join(self.folder, name + ".log"), "wb") as log:
            self.started[name] = subprocess.Popen([self.binary, *args], stdin=subprocess.DEVNULL,
                                                  stdout=subprocess.DEVNULL, stderr=log, env=self.env,
                                                  start_new_session=True)
        return self.started[name]

    def log(self, name):
        with open(os.path.join(self.folder, name + ".log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def port(self, name):
        """The port of a child's "listening on 127.0.0.1:PORT" line, once it is there."""
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            found = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log(name))
            if found:
                return int(found.group(1))
            if self.started[name].poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("%s is not listening: %s" % (name, self.log(name)))

    def logs(self):
        return "".join("--- %s:\n%s" % (name, self.log(name)) for name in self.started)

    def close(self):
        from browser import end_process_group
        for process in reversed(list(self.started.values())):
            end_process_group(process, 10)


def cli_env_vars():
    """Every environment variable bambu-stream reads (tests/support/cli_env.h,
    which cli_test keeps true): kept from the children, so that the caller's
    cannot change what the test sees."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "support", "cli_env.h")) as f:
        listed = re.search(r"k_cli_env_vars = \{(.*?)\};", f.read(), re.S)
    if not listed:
        raise RuntimeError("no k_cli_env_vars list in tests/support/cli_env.h")
    return re.findall(r'"([A-Z0-9_]+)"', listed.group(1))


def heartbeat(state, last_error=None, printer=None):
    """A heartbeat as bambu-stream writes it (docs/heartbeat.md), updated now;
    `printer`: the print state keys of --mqtt to add."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    beat = {"state": state, "pid": 1, "source": "jpeg", "host": "192.0.2.9", "port": 6000, "started_at": now,
            "updated_at": now, "frames": 0, "fps": 0, "last_frame_at": None, "last_error": last_error,
            "snapshot": None, "snapshot_at": None, "snapshot_age": None}
    beat.update(printer or {})
    return beat


def write_heartbeat(path, beat):
    with open(path + ".tmp", "w") as f:
        json.dump(beat, f)
    os.rename(path + ".tmp", path)  # as the writer does: never half a file


def start_farm(procs, folder):
    """Two cameras, two streams into `folder`, and the status server over it; returns its port."""
    for name in ("a", "b"):
        procs.start("camera-" + name, ["simulate", "--listen", "127.0.0.1:0", "--access-code", ACCESS_CODE,
                                       "--fps", "2"])
    for name in ("a", "b"):
        procs.start("printer-" + name, ["--host", "127.0.0.1", "--port", str(procs.port("camera-" + name)),
                                        "--access-code", ACCESS_CODE, "--source", "jpeg", "--format", "mjpeg",
                                        "--heartbeat", os.path.join(folder, "printer-%s.json" % name),
                                        "--snapshot", os.path.join(folder, "printer-%s.jpg" % name)])
    procs.start("status", ["status", "--listen", "127.0.0.1:0", "--heartbeat-dir", folder,
                           "--go2rtc-url", GO2RTC_URL + "/"])
    return procs.port("status")


def check_two_streaming(page, failures):
    """Step 1: two cards, streaming, with 1280-pixel pictures and player links."""
    def ready():
        cards = page.evaluate(CARDS)
        ok = len(cards) == 2 and all(c["state"] == "streaming" and c["width"] > 0 for c in cards)
        return cards if ok else None
    cards = wait_value(ready, START_S, lambda: page.evaluate(CARDS))
    failures.check([c["name"] for c in cards] == ["printer-a", "printer-b"], "two cards: %s" % cards)
    for c in cards:
        failures.check(c["width"] == 1280, "%s: its snapshot is 1280 pixels wide: %s" % (c["name"], c["width"]))
        failures.check(bool(re.fullmatch(r"printers/%s/snapshot\.jpg\?t=\d+" % c["name"], c["src"] or "")),
                       "%s: the snapshot's URL is the server's, with a cache-busting query: %s"
                       % (c["name"], c["src"]))
        failures.check(bool(re.fullmatch(r"\d+\.\d fps", c["fps"] or "")), "%s: frame rate %s" % (c["name"], c["fps"]))
        failures.check(bool(re.fullmatch(r"\d+\.\d s ago", c["lastFrame"] or "")),
                       "%s: last frame %s" % (c["name"], c["lastFrame"]))
        failures.check(c["player"] == "%s/stream.html?src=%s" % (GO2RTC_URL, c["name"]),
                       "%s: linked to go2rtc's player: %s" % (c["name"], c["player"]))
        failures.check(not c["print"], "%s: no print section without the --mqtt keys" % c["name"])


def wait_value(get, timeout_s, show=None):
    """get()'s first truthy value within `timeout_s` seconds, polled every
    0.1 s; else BrowserError, with show()'s value if given."""
    from browser import BrowserError
    deadline = time.monotonic() + timeout_s
    while True:
        value = get()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise BrowserError("not there after %s s: %s" % (timeout_s, show() if show else value))
        time.sleep(0.1)


def check_stop(page, procs, failures):
    """Step 2: SIGTERM to printer-b's stream; its card says stopped within 5 s."""
    stream = procs.started["printer-b"]
    os.kill(stream.pid, signal.SIGTERM)
    killed = time.monotonic()

    def stopped():
        cards = {c["name"]: c for c in page.evaluate(CARDS)}
        return cards if cards["printer-b"]["state"] == "stopped" else None
    cards = wait_value(stopped, 3 * STOPPED_WITHIN_S, lambda: page.evaluate(CARDS))
    took = time.monotonic() - killed
    print("printer-b's card said stopped %.2f s after SIGTERM" % took)
    failures.check(took <= STOPPED_WITHIN_S, "stopped shown %.2f s after SIGTERM (at most %d)" % (took, STOPPED_WITHIN_S))
    failures.check(stream.wait(10) == 0, "the stream exited 0")
    failures.check(cards["printer-b"]["width"] == 0, "the stopped card shows the placeholder, not an old picture")
    failures.check(cards["printer-a"]["state"] == "streaming", "printer-a still streams")


def check_hostile_folder(page, folder, failures):
    """Step 3: hostile heartbeats in the folder render as text."""
    printer = {"print_state": HOSTILE_PRINT_STATE, "print_percent": 42, "print_layer": 7, "print_layers_total": 100,
               "print_remaining_minutes": 62, "print_job": HOSTILE_JOB, "chamber_light": "on", "mqtt": "connected",
               "mqtt_error": None}
    write_heartbeat(os.path.join(folder, "evil.json"), heartbeat("failed", HOSTILE_ERROR, printer))
    odd_printer = {"print_state": "PAUSE", "print_percent": "42", "print_layer": None, "print_layers_total": None,
                   "print_remaining_minutes": None, "print_job": None, "chamber_light": None,
                   "mqtt": "disconnected", "mqtt_error": HOSTILE_ERROR}
    write_heartbeat(os.path.join(folder, "odd.json"), heartbeat(HOSTILE_STATE, None, odd_printer))
    cards = wait_value(lambda: (lambda c: c if len(c) == 4 else None)(page.evaluate(CARDS)), 10,
                       lambda: page.evaluate(CARDS))
    by_name = {c["name"]: c for c in cards}
    failures.check([c["name"] for c in cards] == ["evil", "odd", "printer-a", "printer-b"], "four cards in name order")
    evil, odd = by_name["evil"], by_name["odd"]
    failures.check(evil["state"] == "failed" and evil["detail"] == HOSTILE_ERROR,
                   "the failed card's reason is the heartbeat's text: %r" % evil["detail"])
    failures.check(evil["print"] and (evil["printState"], evil["job"]) == (HOSTILE_PRINT_STATE, HOSTILE_JOB),
                   "the print state and job name are the heartbeat's text: %r, %r" % (evil["printState"], evil["job"]))
    failures.check((evil["progress"], evil["layer"], evil["timeLeft"], evil["light"], evil["mqtt"])
                   == ("42 %", "7 / 100", "1 h 2 min", "on", None),
                   "progress, layer, time left, chamber light, no printer link row while connected: %s"
                   % ([evil[k] for k in ("progress", "layer", "timeLeft", "light", "mqtt")],))
    failures.check(odd["state"] == HOSTILE_STATE, "an unknown state is shown as its text: %r" % odd["state"])
    failures.check((odd["printState"], odd["progress"], odd["layer"], odd["timeLeft"], odd["light"], odd["job"])
                   == ("PAUSE", None, None, None, None, None),
                   "odd: its print state, and no row for a null or mistyped key: %s" % odd)
    failures.check(odd["mqtt"] == "not connected: " + HOSTILE_ERROR,
                   "odd: the MQTT error is the heartbeat's text: %r" % odd["mqtt"])
    check_not_injected(page, failures)


def check_not_injected(page, failures):
    found = page.evaluate(INJECTED)
    failures.check(found == {"pwned": None, "foreign": 0, "scripts": 1, "images": 0},
                   "nothing injected, no script of a heartbeat ran: %s" % found)


def check_hostile_name(browser_module, procs, folder, failures):
    """Step 4: a status server over one --heartbeat whose file name is markup."""
    single = os.path.join(folder, "single")
    os.mkdir(single)
    write_heartbeat(os.path.join(single, HOSTILE_NAME + ".json"), heartbeat("stopped"))
    procs.start("status-single", ["status", "--listen", "127.0.0.1:0", "--go2rtc-url", GO2RTC_URL,
                                  "--heartbeat", os.path.join(single, HOSTILE_NAME + ".json")])
    with browser_module.Browser(1280, 800) as page:
        page.open("http://127.0.0.1:%d/" % procs.port("status-single"))
        cards = wait_value(lambda: page.evaluate(CARDS), 10)
        failures.check([c["name"] for c in cards] == [HOSTILE_NAME], "the card's name is the file's: %s" % cards)
        failures.check(cards[0]["state"] == "stopped", "its state: %s" % cards[0]["state"])
        # encodeURIComponent, then the URL parser's %27 for a quote in an http query.
        want = GO2RTC_URL + "/stream.html?src=" + urllib.parse.quote(HOSTILE_NAME, safe="!()*-._~")
        failures.check(cards[0]["player"] == want, "its player link encodes the name: %s" % cards[0]["player"])
        check_not_injected(page, failures)
        failures.check(not page.console_errors, "the page reported no error: %s" % page.console_errors)


def check_narrow(page, failures, screenshot):
    """Step 5: 360 px wide, a phone: one card per row, nothing scrolls sideways."""
    page.call("Emulation.setDeviceMetricsOverride", width=360, height=1800, deviceScaleFactor=1, mobile=True)
    layout = wait_value(lambda: (lambda l: l if l["innerWidth"] == 360 else None)(page.evaluate(LAYOUT)), 10)
    failures.check(layout["scrollWidth"] <= 360 and layout["scrollX"] == 0,
                   "no horizontal scrolling at 360 px: scrollWidth %d, scrollX %d"
                   % (layout["scrollWidth"], layout["scrollX"]))
    failures.check(len(set(layout["lefts"])) == 1 and max(layout["rights"]) <= 360,
                   "every card in the one column: lefts %s, rights %s" % (layout["lefts"], layout["rights"]))
    failures.check(layout["tops"] == sorted(set(layout["tops"])), "one card per row: tops %s" % layout["tops"])
    with open(screenshot, "wb") as f:
        f.write(page.screenshot())


def run(args, browser, failures):
    folder = tempfile.mkdtemp(prefix="bambu-farm-page-")
    env = {k: v for k, v in os.environ.items() if k not in cli_env_vars()}
    procs = Processes(args.binary, folder, env)
    try:
        port = start_farm(procs, folder)
        with browser.Browser(1280, 800) as page:
            try:
                page.open("http://127.0.0.1:%d/" % port)
                check_two_streaming(page, failures)
                with open(os.path.join(args.screenshot_dir, "browser_farm_page.png"), "wb") as f:
                    f.write(page.screenshot())
                check_stop(page, procs, failures)
                check_hostile_folder(page, folder, failures)
                check_narrow(page, failures, os.path.join(args.screenshot_dir, "browser_farm_page_360.png"))
            except (browser.BrowserError, RuntimeError) as e:
                failures.check(False, str(e))
            failures.check(not page.console_errors, "the page reported no error: %s" % page.console_errors)
        check_hostile_name(browser, procs, folder, failures)
    except (browser.BrowserError, RuntimeError) as e:
        failures.check(False, str(e))
    finally:
        if failures:
            print(procs.logs(), file=sys.stderr)
        procs.close()
        shutil.rmtree(folder, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--screenshot-dir", required=True)
    args = parser.parse_args()
    try:
        import browser
    except ImportError as e:
        skip("%s (Debian package python3-websocket; scripts/install-deps)" % e)
    if browser.available():
        skip(browser.available())
    failures = Failures()
    started = time.monotonic()
    run(args, browser, failures)
    print("%s in %.1f s" % ("FAILED" if failures else "passed", time.monotonic() - started))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
