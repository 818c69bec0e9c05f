# The common part of the Debian cross toolchains, included by
# aarch64-linux-gnu.cmake and arm-linux-gnueabihf.cmake after they set:
#   BAMBU_CROSS_TRIPLET  the GNU triplet, e.g. aarch64-linux-gnu
#   BAMBU_QEMU           the qemu user-mode emulator, e.g. qemu-aarch64-static
#
# Debian multiarch needs no sysroot: `dpkg --add-architecture` puts the
# foreign libraries in /usr/lib/<triplet> and their headers beside ours, so
# the cross compilers from crossbuild-essential-<arch>, the library
# architecture and the cross pkg-config (pkgconf:<arch>) are the whole of it.
# `scripts/install-deps --arch <arch>` installs all of them.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${BAMBU_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${BAMBU_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${BAMBU_CROSS_TRIPLET})
set(PKG_CONFIG_EXECUTABLE ${BAMBU_CROSS_TRIPLET}-pkg-config)

# ctest and Catch's test discovery run every foreign test program through
# qemu. Never give qemu `-L /usr/<triplet>`: libc6:<arch> already provides
# the loader, and with -L qemu spins at 100% CPU and ignores SIGTERM. The
# outer timeout ends any run, stuck or not, with SIGKILL after 10 minutes
# (the test presets' own limits are shorter).
set(CMAKE_CROSSCOMPILING_EMULATOR timeout --signal=KILL 600 ${BAMBU_QEMU})

