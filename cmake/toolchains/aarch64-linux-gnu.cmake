# Cross build for 64-bit ARM (Debian arm64: Raspberry Pi 3, 4 and 5 and
# Zero 2 W with a 64-bit OS, ARM NAS boxes), with Debian 12's own cross
# compiler and arm64 libraries; tests run under qemu. Preset `arm64`.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(BAMBU_CROSS_TRIPLET aarch64-linux-gnu)
set(BAMBU_QEMU qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
