# Warnings and sanitizers as interface targets (ccache's approach): linked by
# our own targets only, never set as global flags. -Werror comes from the
# presets (BAMBU_WERROR), not from here.
add_library(bambu_warnings INTERFACE)
target_compile_options(bambu_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  $<$<BOOL:${BAMBU_WERROR}>:-Werror>)

add_library(bambu_sanitizers INTERFACE)
if(BAMBU_FUZZ)
  # Coverage for libFuzzer in every library; the fuzzers link -fsanitize=fuzzer.
  target_compile_options(bambu_sanitizers INTERFACE
    -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(bambu_sanitizers INTERFACE -fsanitize=address,undefined)
elseif(BAMBU_SANITIZE)
  target_compile_options(bambu_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(bambu_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
