# syntax=docker/dockerfile:1
# bambu-stream beside go2rtc, in one Debian 12 image.
#
# The official go2rtc image is Alpine (musl), where bambu-stream, a glibc
# program, does not run. go2rtc itself is a static Go binary, so it is
# copied from that image into a Debian one instead.
#
#   docker compose up                       # see docker-compose.yml and the README
#   docker buildx build --platform linux/amd64,linux/arm64 -t bambu-stream .
#
# Each platform builds natively (or under QEMU); the go2rtc image is
# multi-platform, so COPY --from takes the matching binary.

# A released go2rtc, at least 1.9.11 (the default configuration uses
# `preload`). Bump it deliberately: go2rtc's exec: semantics are part of
# bambu-stream's contract (../shared/docs/go2rtc-contract.md).
ARG GO2RTC_VERSION=1.9.14

FROM alexxit/go2rtc:${GO2RTC_VERSION} AS go2rtc

# --- build: compile bambu-stream (release preset, no tests) ---
FROM debian:bookworm AS build
# The -dev packages of scripts/install-deps; scripts/check-dockerfile keeps the two lists in step.
# (libavformat-dev is for the RTSPS source, which needs it from its merge on.)
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libssl-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev \
      libcli11-dev libfmt-dev nlohmann-json3-dev libcpp-httplib-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build needs: never .env or a local build/ directory.
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY packaging packaging
COPY src src
RUN cmake --preset release \
 && cmake --build --preset release \
 && install -D -m 755 build/release/bambu-stream /out/bin/bambu-stream

# --- runtime ---
FROM debian:bookworm-slim
# libssl3, libfmt9, libcpp-httplib0.11: bambu-stream's shared libraries.
# libavformat59, libavcodec59 (with libx264), libavutil57, libswscale6: the
# FFmpeg libraries bambu-stream dlopen()s (RTSPS remux, the H.264 encoder of
# the jpeg source, RTSPS snapshots, simulate). tini: PID 1, which forwards
# signals to the entrypoint and reaps orphans.
# The default stream is H.264 from bambu-stream itself, so go2rtc needs no
# ffmpeg CLI and the image leaves it out (with the X11, SDL and PulseAudio
# libraries it pulls in). --build-arg WITH_FFMPEG=true adds it back, for
# `ffmpeg:` sources of your own or go2rtc's /api/frame.jpeg of an H.264
# stream (the status server's /snapshot.jpg needs none).
ARG WITH_FFMPEG=false
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 libfmt9 libcpp-httplib0.11 libavformat59 libavcodec59 libavutil57 libswscale6 tini \
      $(if [ "$WITH_FFMPEG" = true ]; then echo ffmpeg; fi) \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /config --shell /usr/sbin/nologin bambu \
 && mkdir -p /config \
 && chown bambu:bambu /config

COPY --from=go2rtc /usr/local/bin/go2rtc /usr/local/bin/go2rtc
COPY --from=build /out/bin/bambu-stream /usr/local/bin/bambu-stream
COPY docker/entrypoint.sh /usr/local/bin/bambu-entrypoint
COPY docker/go2rtc.yaml /usr/local/share/bambu-stream/go2rtc.yaml
# Fail the build, not the first start, if a shared library is missing.
RUN ! ldd /usr/local/bin/bambu-stream | grep "not found" \
 && bambu-stream --version \
 && go2rtc -version

# The heartbeat bambu-stream keeps and `bambu-stream status` reads (the
# status server, HEALTHCHECK); /tmp, since the image's user can write there.
# One folder for every printer's heartbeat and snapshot (NAME.json,
# NAME.jpg); the default configuration's printer is `printer`.
ENV BAMBU_HEARTBEAT=/tmp/bambu/printer.json \
    BAMBU_HEARTBEAT_DIR=/tmp/bambu \
    HTTP_PORT=8081
USER bambu
WORKDIR /config
# go2rtc: API and web UI, RTSP, WebRTC; the status server.
EXPOSE 1984 8554 8555/tcp 8555/udp 8081
# Healthy while every printer with a heartbeat in BAMBU_HEARTBEAT_DIR
# streams (the configurations preload them); unhealthy when one does not,
# e.g. with a printer off.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["bambu-stream", "status"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/bambu-entrypoint"]
