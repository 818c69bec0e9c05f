#!/usr/bin/env bash
# Entrypoint of the bambu-stream image; tini runs it as PID 1's child.
#
# - Picks go2rtc's configuration: /config/go2rtc.yaml if one is mounted,
#   else the image's default (one printer from PRINTER_* in .env), whose
#   variables it first checks offline with `bambu-stream --check`, so that a
#   wrong .env stops here with one clear line instead of in go2rtc's log.
# - Starts the status server (`bambu-stream status --listen`, port HTTP_PORT)
#   and go2rtc side by side. go2rtc runs bambu-stream itself (exec: sources),
#   which keeps the heartbeat file that the status server reads.
# - Forwards SIGTERM and SIGINT to both. When either exits, stops the other
#   and exits: 0 after a signal (docker stop), else the status of the one
#   that ended first, so that Docker's restart policy takes over.
set -euo pipefail

log() { echo "entrypoint: $*" >&2; }

export BAMBU_HEARTBEAT="${BAMBU_HEARTBEAT:-/tmp/bambu/printer.json}"
# Every printer's heartbeat and snapshot (NAME.json, NAME.jpg) live here;
# the health check and /printers/NAME/ cover each file in it.
export BAMBU_HEARTBEAT_DIR="${BAMBU_HEARTBEAT_DIR:-$(dirname "$BAMBU_HEARTBEAT")}"
mkdir -p "$BAMBU_HEARTBEAT_DIR"
http_port="${HTTP_PORT:-8081}"
# Inside the container all interfaces; Docker publishes the port.
status_host="${BAMBU_STATUS_HOST:-0.0.0.0}"
config=/config/go2rtc.yaml

if [ -f "$config" ]; then
  log "go2rtc configuration: $config"
else
  config=/usr/local/share/bambu-stream/go2rtc.yaml
  if [ -z "${PRINTER_ADDRESS:-}" ] || [ -z "${PRINTER_ACCESS_CODE:-}" ]; then
    log "set PRINTER_ADDRESS and PRINTER_ACCESS_CODE in .env (see .env.example), or mount a /config/go2rtc.yaml"
    exit 2
  fi
  # The default configuration's exec: line reads these same variables.
  bambu-stream --check
  if [ -z "${WEBRTC_CANDIDATE:-}" ]; then
    log "WEBRTC_CANDIDATE is empty: browsers get the stream over MSE, not WebRTC; set it to this host's LAN IP:8555 in .env"
  fi
fi

bambu-stream status --listen "${status_host}:${http_port}" --heartbeat "$BAMBU_HEARTBEAT" \
  --heartbeat-dir "$BAMBU_HEARTBEAT_DIR" &
status_pid=$!
go2rtc -config "$config" &
go2rtc_pid=$!

signalled=0
stop() { kill -TERM "$go2rtc_pid" "$status_pid" 2>/dev/null || true; }
# shellcheck disable=SC2317  # reached through the trap
on_signal() {
  signalled=1
  stop
}
trap on_signal TERM INT

# Until the first of the two exits; a signal ends the wait early too.
code=0
wait -n "$go2rtc_pid" "$status_pid" || code=$?
if [ "$signalled" -eq 0 ]; then
  log "$(kill -0 "$go2rtc_pid" 2>/dev/null && echo "the status server" || echo go2rtc) exited with status $code; stopping"
fi
stop
# Both must be gone before we return: tini ends the container with us.
while kill -0 "$go2rtc_pid" 2>/dev/null || kill -0 "$status_pid" 2>/dev/null; do
  wait || true
done
if [ "$signalled" -eq 1 ]; then exit 0; fi
exit "$code"
