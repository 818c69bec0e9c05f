#!/bin/sh
# Entrypoint of the bambu-stream image and of its Home Assistant add-on;
# tini runs it as PID 1's child, under busybox sh (the image has no bash).
#
# - Picks go2rtc's configuration:
#   - Home Assistant add-on (the Supervisor wrote $BAMBU_ADDON_OPTIONS,
#     /data/options.json): `bambu-stream addon-config` turns the add-on's
#     options into one (a printer with a bad option is named in the log and
#     left out; the others start); a go2rtc.yaml in the add-on's own config
#     folder ($BAMBU_CONFIG_DIR, /config) is read after it, so its settings
#     win.
#   - Docker: $BAMBU_CONFIG_DIR/go2rtc.yaml if one is mounted, else the
#     image's default (one printer from PRINTER_* in .env), whose variables it
#     first checks offline with `bambu-stream --check`, so that a wrong .env
#     stops here with one clear line instead of in go2rtc's log. For it,
#     BAMBU_GO2RTC_STREAM defaults to that stream in go2rtc's API, so that
#     BAMBU_CHAMBER_LIGHT=1 switches the light with go2rtc's viewers.
# - Starts the status server (`bambu-stream status --listen`, port HTTP_PORT)
#   and go2rtc side by side. go2rtc runs bambu-stream itself (exec: sources),
#   which keeps the heartbeat files that the status server reads.
# - Forwards SIGTERM and SIGINT to both. When either exits, stops the other
#   and exits: 0 after a signal (docker stop), else the status of the one
#   that ended first, so that Docker's restart policy takes over.
set -eu

log() { echo "entrypoint: $*" >&2; }

export BAMBU_HEARTBEAT="${BAMBU_HEARTBEAT:-/tmp/bambu/printer.json}"
# Every printer's heartbeat and snapshot (NAME.json, NAME.jpg) live here;
# the health check and /printers/NAME/ cover each file in it.
export BAMBU_HEARTBEAT_DIR="${BAMBU_HEARTBEAT_DIR:-$(dirname "$BAMBU_HEARTBEAT")}"
mkdir -p "$BAMBU_HEARTBEAT_DIR"
http_port="${HTTP_PORT:-8081}"
# Inside the container all interfaces; Docker publishes the port.
status_host="${BAMBU_STATUS_HOST:-0.0.0.0}"
config_dir="${BAMBU_CONFIG_DIR:-/config}"
addon_options="${BAMBU_ADDON_OPTIONS:-/data/options.json}"

if [ -f "$addon_options" ]; then
  # The add-on's access code files and generated configuration: outside the
  # heartbeat folder, which the status server lists.
  addon_dir="${BAMBU_ADDON_DIR:-/tmp/bambu-addon}"
  mkdir -p "$addon_dir"
  bambu-stream addon-config --options "$addon_options" --go2rtc-config "$addon_dir/go2rtc.yaml" \
    --codes-dir "$addon_dir/codes" --heartbeat-dir "$BAMBU_HEARTBEAT_DIR"
  set -- -config "$addon_dir/go2rtc.yaml"
  if [ -f "$config_dir/go2rtc.yaml" ]; then
    log "go2rtc configuration: the add-on's printers, then $config_dir/go2rtc.yaml"
    set -- "$@" -config "$config_dir/go2rtc.yaml"
  fi
elif [ -f "$config_dir/go2rtc.yaml" ]; then
  log "go2rtc configuration: $config_dir/go2rtc.yaml"
  set -- -config "$config_dir/go2rtc.yaml"
else
  if [ -z "${PRINTER_ADDRESS:-}" ] || [ -z "${PRINTER_ACCESS_CODE:-}" ]; then
    log "set PRINTER_ADDRESS and PRINTER_ACCESS_CODE in .env (see .env.example), or mount a $config_dir/go2rtc.yaml"
    exit 2
  fi
  # The default configuration's one stream, `printer`, in go2rtc's API on
  # its default port (docker/go2rtc.yaml keeps it): go2rtc preloads the
  # stream, so with BAMBU_CHAMBER_LIGHT the light follows go2rtc's viewers
  # rather than the stream's run. Unused without BAMBU_CHAMBER_LIGHT.
  export BAMBU_GO2RTC_STREAM="${BAMBU_GO2RTC_STREAM:-http://127.0.0.1:1984/api/streams?src=printer}"
  # The default configuration's exec: line reads these same variables.
  bambu-stream --check
  if [ -z "${WEBRTC_CANDIDATE:-}" ]; then
    log "WEBRTC_CANDIDATE is empty: browsers get the stream over MSE, not WebRTC; set it to this host's LAN IP:8555 in .env"
  fi
  set -- -config /usr/local/share/bambu-stream/go2rtc.yaml
fi

signalled=0
go2rtc_pid=
status_pid=
stop() { for pid in $go2rtc_pid $status_pid; do kill -TERM "$pid" 2>/dev/null || true; done; }
# shellcheck disable=SC2317  # reached through the trap
on_signal() {
  signalled=1
  stop
}
trap on_signal TERM INT

bambu-stream status --listen "${status_host}:${http_port}" --heartbeat "$BAMBU_HEARTBEAT" \
  --heartbeat-dir "$BAMBU_HEARTBEAT_DIR" &
status_pid=$!
go2rtc "$@" &
go2rtc_pid=$!

# True while process $1 runs: neither gone nor a zombie (an exited child of
# ours stays one until we wait for it, and kill -0 still reaches it).
running() {
  state=
  read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" || return 1
  [ "$state" != Z ]
}

# Until the first of the two exits, or a signal. busybox sh has no `wait
# -n`: it polls every half second, in a `wait` that a signal interrupts.
sleeper=
while [ "$signalled" -eq 0 ] && running "$go2rtc_pid" && running "$status_pid"; do
  sleep 0.5 &
  sleeper=$!
  wait "$sleeper" || true
done
[ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true
code=0
if [ "$signalled" -eq 0 ]; then
  if running "$go2rtc_pid"; then ended="the status server" ended_pid=$status_pid; else ended=go2rtc ended_pid=$go2rtc_pid; fi
  wait "$ended_pid" || code=$?
  log "$ended exited with status $code; stopping"
fi
stop
# Both must be gone before we return: tini ends the container with us.
for pid in "$go2rtc_pid" "$status_pid"; do
  while running "$pid"; do wait "$pid" || true; done
done
if [ "$signalled" -eq 1 ]; then exit 0; fi
exit "$code"
