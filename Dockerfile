# syntax=docker/dockerfile:1
# bambu-stream beside go2rtc, in one small image per platform (amd64, arm64).
#
#   docker compose up                       # see docker-compose.yml and the README
#   docker buildx build --platform linux/amd64,linux/arm64 -t bambu-stream .
#
# The image holds the fully static bambu-stream (scripts/build-static), the
# static go2rtc, busybox (a shell for the entrypoint and for `docker exec`),
# tini (PID 1) and the entrypoint: nothing else, so no C library, no package
# manager. Nothing is compiled or run under emulation: the build stages run
# on the building machine's own platform ($BUILDPLATFORM) and cross-compile
# for the image's ($TARGETARCH); the final stage only copies files.
#
# scripts/release and the tests give a static binary they made already, and
# go2rtc for the platform, as named build contexts that replace the stages of
# the same names (podman and docker buildx alike):
#   --build-context bambu-stream-binary=DIR   DIR/bambu-stream
#   --build-context go2rtc=DIR                DIR/usr/local/bin/go2rtc
# The tests also build it as users do, compiling in the compiled stage
# (scripts/build-image --from-source), with only go2rtc replaced.
#
# The static binary links FFmpeg and x264 (GPL-2.0-or-later) with OpenSSL 3
# (Apache-2.0): as a whole it is distributed under the GPL-3.0, which
# /usr/share/doc/bambu-stream/THIRD-PARTY.md in the image says with every
# component's version and source.

# A released go2rtc, at least 1.9.11 (the default configuration uses
# `preload`). Bump it deliberately: go2rtc's exec: semantics are part of
# bambu-stream's contract (../shared/docs/go2rtc-contract.md).
ARG GO2RTC_VERSION=1.9.14

# go2rtc for the image's platform: the official multi-platform image is
# Alpine, but go2rtc itself is one static Go binary, copied out, never run.
FROM --platform=$TARGETPLATFORM alexxit/go2rtc:${GO2RTC_VERSION} AS go2rtc

# --- compiled: the static binary, cross-built on the building platform ---
FROM --platform=$BUILDPLATFORM debian:bookworm AS compiled
ARG TARGETARCH
WORKDIR /src
# Only what the build needs: never .env or a local build/ directory.
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY packaging packaging
COPY scripts/build-static scripts/install-deps scripts/
COPY src src
# FFmpeg and libmosquitto from Debian's source packages, then bambu-stream
# (scripts/build-static); --build-only leaves out what only its tests use
# (cpp-httplib among them). build-static keeps the libraries it builds in
# /var/cache/bambu-stream, keyed by architecture, versions and flags: a
# BuildKit cache mount there keeps them between builds, so a rebuild
# compiles only bambu-stream (each architecture has its own folders).
RUN --mount=type=cache,target=/var/cache/bambu-stream \
    ./scripts/build-static "$TARGETARCH" --build-only \
 && install -D -m 755 "build/static-$TARGETARCH/bambu-stream" /out/bambu-stream \
 && cp dist/THIRD-PARTY.md /out/THIRD-PARTY.md

FROM scratch AS bambu-stream-binary
COPY --from=compiled /out/ /

# --- rootfs: busybox and tini of the image's platform, from Debian ---
FROM --platform=$BUILDPLATFORM debian:bookworm AS rootfs
ARG TARGETARCH
# busybox-static and tini (its tini-static) for $TARGETARCH, unpacked, not
# installed: dpkg-deb -x runs nothing of theirs. The applet links come from
# the building platform's busybox of the same version.
RUN dpkg --add-architecture "$TARGETARCH" \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox-static \
 && cd /tmp \
 && apt-get download "busybox-static:$TARGETARCH" "tini:$TARGETARCH" \
 && mkdir -p /rootfs/bin /rootfs/usr/bin /rootfs/etc /rootfs/tmp /unpacked /empty \
 && for deb in ./*.deb; do dpkg-deb -x "$deb" /unpacked; done \
 && install -m 755 /unpacked/bin/busybox /rootfs/bin/busybox \
 && install -m 755 /unpacked/usr/bin/tini-static /rootfs/usr/bin/tini \
 && for applet in $(busybox --list); do [ "$applet" = busybox ] || ln -s busybox "/rootfs/bin/$applet"; done \
 && chmod 1777 /rootfs/tmp \
 && printf 'root:x:0:0:root:/root:/bin/sh\nbambu:x:10001:10001:bambu-stream:/config:/bin/false\n' >/rootfs/etc/passwd \
 && printf 'root:x:0:\nbambu:x:10001:\n' >/rootfs/etc/group \
 && rm -rf /var/lib/apt/lists/*

# --- runtime ---
FROM scratch
COPY --from=rootfs /rootfs/ /
# /config, the working folder, belongs to the image's user (a COPY onto an
# existing folder would not change its owner, so it is not in /rootfs).
COPY --from=rootfs --chown=10001:10001 /empty /config
COPY --from=go2rtc /usr/local/bin/go2rtc /usr/local/bin/go2rtc
COPY --from=bambu-stream-binary /bambu-stream /usr/local/bin/bambu-stream
COPY --from=bambu-stream-binary /THIRD-PARTY.md /usr/share/doc/bambu-stream/THIRD-PARTY.md
COPY LICENSE /usr/share/doc/bambu-stream/LICENSE
COPY docker/entrypoint.sh /usr/local/bin/bambu-entrypoint
COPY docker/go2rtc.yaml /usr/local/share/bambu-stream/go2rtc.yaml

# The heartbeat bambu-stream keeps and `bambu-stream status` reads (the
# status server, HEALTHCHECK); /tmp, since the image's user can write there.
# One folder for every printer's heartbeat and snapshot (NAME.json,
# NAME.jpg); the default configuration's printer is `printer`.
ENV PATH=/usr/local/bin:/usr/bin:/bin \
    HOME=/config \
    BAMBU_HEARTBEAT=/tmp/bambu/printer.json \
    BAMBU_HEARTBEAT_DIR=/tmp/bambu \
    HTTP_PORT=8081
LABEL org.opencontainers.image.title="bambu-stream" \
      org.opencontainers.image.description="Bambu Lab printer cameras through go2rtc: RTSP, WebRTC, MSE and snapshots" \
      org.opencontainers.image.source="https://github.com/bambu-stream/bambu-stream" \
      org.opencontainers.image.licenses="MIT AND GPL-3.0-or-later"
USER 10001:10001
WORKDIR /config
# go2rtc: API and web UI, RTSP, WebRTC; the status server.
EXPOSE 1984 8554 8555/tcp 8555/udp 8081
# Healthy while every printer with a heartbeat in BAMBU_HEARTBEAT_DIR
# streams (the configurations preload them); unhealthy when one does not,
# e.g. with a printer off.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["bambu-stream", "status"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/bambu-entrypoint"]
