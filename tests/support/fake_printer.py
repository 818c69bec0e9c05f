#!/usr/bin/env python3
"""A fake Bambu Lab printer on an MQTT broker, for the tests of an MQTT client.

It logs in to the broker (tests/support/mqtt_broker.h starts one) as the
printer's firmware would publish, subscribes to device/SERIAL/request and
answers there on device/SERIAL/report, as the firmware does:

- P1 and A1 models (P1P, P1S, A1, A1MINI) publish only changed fields
  ("deltas") between full reports, and a full `push_status` report only in
  answer to {"pushing": {"command": "pushall"}}; X1, H2 and P2S models
  (X1C, X1E, H2D, H2S, P2S) publish a full report every --push-interval.
  Clients such as ha-bambulab therefore send pushall on connecting and merge
  every report into what they know; a full report carries "msg": 0, a delta
  "msg": 1 (greghesp/ha-bambulab, custom_components/bambu_lab/pybambu/
  bambu_client.py, try_connection, and models.py, Device.print_update).
- The shapes: `print.push_status` with `gcode_state`, `mc_percent`,
  `layer_num`, `total_layer_num`, `mc_remaining_time`, `subtask_name`,
  `ipcam` and `lights_report` (a list of {"node", "mode"}); the answer to
  {"info": {"command": "get_version"}} with its `module` list; requests carry
  a `sequence_id` that the answer repeats (Doridian/OpenBambuAPI mqtt.md,
  "Requests and reports", "info.get_version", "print.push_status").
- {"system": {"command": "ledctrl", "led_node": "chamber_light",
  "led_mode": "on" | "off", ...}} switches that light; `lights_report`
  follows (OpenBambuAPI mqtt.md "system.ledctrl"). H2D and H2C have a second
  chamber light, node `chamber_light2` (ha-bambulab pybambu/commands.py,
  CHAMBER_LIGHT_2_ON): --chamber-light2.
- `print.ipcam.rtsp_url`: absent (P1, A1), the printer's own RTSPS URL, or
  "disable" when "LAN Only Liveview" is off, which current H2, P2S and X2D
  firmware ships with (../shared/docs/port6000-protocol.md;
  Doridian/OpenBambuAPI#68; greghesp/ha-bambulab#1911 and #2140). --rtsp-url sets it as is, a
  wrong address such as rtsps://192.0.2.1:322/streaming/live/1 included.

For the client's robustness tests, --garble MODE (repeatable) answers each
pushall first with a malformed report of each MODE, then with the true one:
bad-json (cut off mid-string), wrong-types (every field of the wrong JSON
type), huge (over 10 MiB), deep (100000 nested arrays), not-object (a JSON
list), empty (no bytes). --no-answer records pushall and get_version but
never answers them.

What the test reads (both in --state-dir):
- requests.jsonl: one JSON object per request received, appended and
  flushed line by line: {"time": seconds since the epoch, "topic": ...,
  "payload": the parsed JSON or null, "raw": the text when it is not JSON}.
- state.json, replaced atomically (temporary file and rename) on every
  change: {"connected": bool, "subscribed": bool, "lights": {node: mode},
  "requests": count, "reports": count, "full_reports": count}.

Ends on SIGTERM or SIGINT (disconnecting first). Written for paho-mqtt 1.6
(Debian 12's python3-paho-mqtt): Client(client_id, protocol=MQTTv311),
callbacks without the properties argument.
"""

import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time

import paho.mqtt.client as mqtt

FULL_PUSHERS = {"X1C", "X1E", "H2D", "H2S", "P2S"}
DELTA_PUSHERS = {"P1P", "P1S", "A1", "A1MINI"}
HUGE_BYTES = 10 * 1024 * 1024 + 1
DEEP_LEVELS = 100000


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca-file", required=True, help="the broker's certificate (PEM)")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--serial", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--model", default="P1S", choices=sorted(FULL_PUSHERS | DELTA_PUSHERS))
    parser.add_argument("--rtsp-url", help="print.ipcam.rtsp_url; absent when not given")
    parser.add_argument("--gcode-state", default="IDLE")
    parser.add_argument("--mc-percent", type=int, default=0)
    parser.add_argument("--layer-num", type=int, default=0)
    parser.add_argument("--total-layer-num", type=int, default=0)
    parser.add_argument("--mc-remaining-time", type=int, default=0, help="minutes")
    parser.add_argument("--subtask-name", default="")
    parser.add_argument("--chamber-light", default="off", choices=["on", "off"])
    parser.add_argument("--chamber-light2", action="store_true", help="a second chamber light (H2D)")
    parser.add_argument("--firmware", default="01.07.00.00", help="the ota module's sw_ver")
    parser.add_argument("--push-interval", type=float, default=1.0, help="seconds between reports")
    parser.add_argument("--garble", action="append", default=[],
                        choices=["bad-json", "wrong-types", "huge", "deep", "not-object", "empty"])
    parser.add_argument("--no-answer", action="store_true")
    return parser.parse_args()


class FakePrinter:
    """The printer's state and its answers; callbacks run on paho's thread."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.lights = {"chamber_light": args.chamber_light, "work_light": "flashing"}
        if args.chamber_light2:
            self.lights["chamber_light2"] = args.chamber_light
        self.counts = {"requests": 0, "reports": 0, "full_reports": 0}
        self.connected = False
        self.subscribed = False
        self.sequence = 0
        self.report_topic = f"device/{args.serial}/report"
        self.request_topic = f"device/{args.serial}/request"
        self.requests_file = open(os.path.join(args.state_dir, "requests.jsonl"), "a", encoding="utf-8")
        self.client = mqtt.Client(client_id=f"fake-printer-{args.serial}", protocol=mqtt.MQTTv311)
        self.client.username_pw_set(args.username, args.password)
        self.client.tls_set(ca_certs=args.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        self.client.tls_insecure_set(True)  # the certificate names the serial, not 127.0.0.1
        self.client.on_connect = self.on_connect
        self.client.on_subscribe = self.on_subscribe
        self.client.on_disconnect = self.on_disconnect
        self.client.on_message = self.on_message
        self.write_state()

    # --- the files the test reads ---

    def write_state(self):
        with self.lock:
            state = {"connected": self.connected, "subscribed": self.subscribed,
                     "lights": dict(self.lights), **self.counts}
        path = os.path.join(self.args.state_dir, "state.json")
        with open(path + ".tmp", "w", encoding="utf-8") as out:
            json.dump(state, out)
        os.replace(path + ".tmp", path)

    def record(self, message):
        text = message.payload.decode("utf-8", errors="replace")
        entry = {"time": time.time(), "topic": message.topic}
        try:
            entry["payload"] = json.loads(text)
        except ValueError:
            entry["payload"] = None
            entry["raw"] = text
        self.requests_file.write(json.dumps(entry) + "\n")
        self.requests_file.flush()
        with self.lock:
            self.counts["requests"] += 1
        return entry["payload"]

    # --- the reports ---

    def next_sequence(self):
        with self.lock:
            self.sequence += 1
            return str(self.sequence)

    def lights_report(self):
        with self.lock:
            return [{"node": node, "mode": mode} for node, mode in self.lights.items()]

    def full_report(self, sequence_id):
        a = self.args
        ipcam = {"ipcam_dev": "1", "ipcam_record": "enable", "timelapse": "disable"}
        if a.rtsp_url is not None:
            ipcam["rtsp_url"] = a.rtsp_url
        return {"print": {
            "command": "push_status", "msg": 0, "sequence_id": sequence_id,
            "gcode_state": a.gcode_state, "mc_percent": a.mc_percent, "layer_num": a.layer_num,
            "total_layer_num": a.total_layer_num, "mc_remaining_time": a.mc_remaining_time,
            "subtask_name": a.subtask_name, "gcode_file": "", "print_type": "",
            "bed_temper": 25.0, "bed_target_temper": 0.0, "nozzle_temper": 25.0, "nozzle_target_temper": 0.0,
            "chamber_temper": 24.0, "wifi_signal": "-45dBm", "spd_lvl": 2, "spd_mag": 100, "hms": [],
            "ipcam": ipcam, "lights_report": self.lights_report(),
        }}

    def delta_report(self, fields):
        return {"print": {"command": "push_status", "msg": 1, "sequence_id": self.next_sequence(), **fields}}

    def version_report(self, sequence_id):
        return {"info": {"command": "get_version", "sequence_id": sequence_id, "module": [
            {"name": "ota", "hw_ver": "", "sn": "", "sw_ver": self.args.firmware},
            {"name": "mc", "hw_ver": "MC07", "sn": self.args.serial, "sw_ver": "00.00.10.48"},
        ]}}

    def publish(self, report, full=False):
        payload = report if isinstance(report, bytes) else json.dumps(report).encode()
        self.client.publish(self.report_topic, payload, qos=0)
        with self.lock:
            self.counts["reports"] += 1
            self.counts["full_reports"] += 1 if full else 0
        self.write_state()

    # --- paho's callbacks (its network thread) ---

    def on_connect(self, client, userdata, flags, rc):
        if rc != 0:
            print(f"fake_printer: connection refused: {mqtt.connack_string(rc)}", file=sys.stderr, flush=True)
            return
        with self.lock:
            self.connected = True
        client.subscribe(self.request_topic, qos=0)
        self.write_state()

    def on_subscribe(self, client, userdata, mid, granted_qos):
        with self.lock:
            self.subscribed = True
        self.write_state()

    def on_disconnect(self, client, userdata, rc):
        with self.lock:
            self.connected = self.subscribed = False
        self.write_state()

    def on_message(self, client, userdata, message):
        request = self.record(message)
        self.write_state()
        if not isinstance(request, dict):
            return
        for kind, body in request.items():
            if isinstance(body, dict):
                self.answer(kind, body)

    def answer(self, kind, body):
        command = body.get("command")
        sequence_id = body.get("sequence_id", "0")
        if kind == "pushing" and command == "pushall" and not self.args.no_answer:
            for mode in self.args.garble:
                self.publish(garbled_report(mode))
            self.publish(self.full_report(sequence_id), full=True)
        elif kind == "info" and command == "get_version" and not self.args.no_answer:
            self.publish(self.version_report(sequence_id))
        elif kind == "system" and command == "ledctrl":
            self.switch_light(body, sequence_id)

    def switch_light(self, body, sequence_id):
        node, mode = body.get("led_node"), body.get("led_mode")
        with self.lock:
            known = node in self.lights and mode in ("on", "off", "flashing")
            if known:
                self.lights[node] = mode
        answer = {key: value for key, value in body.items()}
        answer.update({"sequence_id": sequence_id, "result": "success" if known else "failed"})
        if not known:
            answer["reason"] = "unknown led_node or led_mode"
        self.publish({"system": answer})
        if known:
            self.publish(self.delta_report({"lights_report": self.lights_report()}))

    # --- the firmware's own pushes ---

    def push_loop(self, stop):
        remaining = self.args.mc_remaining_time
        while not stop.wait(self.args.push_interval):
            with self.lock:
                ready = self.subscribed
            if not ready:
                continue
            if self.args.model in FULL_PUSHERS:
                self.publish(self.full_report(self.next_sequence()), full=True)
            else:
                # What a P1 sends between full reports: a few changed fields.
                self.publish(self.delta_report({"wifi_signal": "-46dBm", "mc_remaining_time": remaining}))


def garbled_report(mode):
    """A malformed report of the given kind, as bytes."""
    if mode == "bad-json":
        return b'{"print": {"command": "push_status", "gcode_state": "RUNN'
    if mode == "wrong-types":
        return json.dumps({"print": {
            "command": "push_status", "gcode_state": 7, "mc_percent": "fifty", "layer_num": [3],
            "total_layer_num": {"n": 10}, "mc_remaining_time": None, "subtask_name": 3.5,
            "lights_report": "on", "ipcam": ["rtsp_url"]}}).encode()
    if mode == "huge":
        padding = "x" * HUGE_BYTES
        return json.dumps({"print": {"command": "push_status", "subtask_name": padding}}).encode()
    if mode == "deep":
        return b'{"print": ' + b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS + b"}"
    if mode == "not-object":
        return b'["print", "push_status"]'
    return b""


def main():
    args = parse_arguments()
    printer = FakePrinter(args)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    printer.client.connect("127.0.0.1", args.port, keepalive=30)
    printer.client.loop_start()
    printer.push_loop(stop)
    printer.client.disconnect()
    printer.client.loop_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
