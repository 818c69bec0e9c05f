# Cross build for 32-bit ARM (Debian armhf: ARMv7 with hardware floating
# point; Raspberry Pi 2 to 5 running 32-bit Raspberry Pi OS; not the Pi Zero
# or Pi 1, which are ARMv6), with Debian 12's own cross compiler and armhf
# libraries; tests run under qemu. Preset `armhf`.
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(BAMBU_CROSS_TRIPLET arm-linux-gnueabihf)
set(BAMBU_QEMU qemu-arm-static)
# GCC notes (-Wpsabi) that GCC 7.1 changed how some structures are passed on
# ARM. Only code built by an older GCC could disagree, and all of Debian 12
# is built by GCC 12: the notes say nothing about our binary.
set(CMAKE_CXX_FLAGS_INIT -Wno-psabi)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
