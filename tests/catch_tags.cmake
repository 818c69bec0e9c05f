# Run after a Catch test program is built (tests/CMakeLists.txt,
# bambu_catch_tests): writes OUTPUT, a ctest script that gives every test
# of the program that carries TAG the PROPERTIES. ctest reads it after the
# list catch_discover_tests made, so that a test is chosen by its tag, never
# by its title. Inputs (-D): TEST_EXECUTABLE; TEST_EXECUTOR, the cross
# build's emulator (empty natively); TAG, without brackets; PROPERTIES, as
# set_tests_properties takes them (e.g. "COST 60"); OUTPUT.
cmake_minimum_required(VERSION 3.25)  # the project's: its policies here too

execute_process(
  COMMAND ${TEST_EXECUTOR} "${TEST_EXECUTABLE}" "[${TAG}]" --list-test-names-only
  OUTPUT_VARIABLE output
  RESULT_VARIABLE result)
# Catch exits with the number of tests listed: 0 means none, which is fine.
if(NOT result MATCHES "^[0-9]+$")
  message(FATAL_ERROR "${TEST_EXECUTABLE} \"[${TAG}]\" --list-test-names-only failed: ${result}")
endif()

# One name a line. No list operations: CMake would split a name at a ';'
# and join lines across an unmatched '['.
set(script "")
set(rest "${output}")
while(NOT rest STREQUAL "")
  string(FIND "${rest}" "\n" end)
  if(end EQUAL -1)
    set(name "${rest}")
    set(rest "")
  else()
    string(SUBSTRING "${rest}" 0 ${end} name)
    math(EXPR next "${end} + 1")
    string(SUBSTRING "${rest}" ${next} -1 rest)
  endif()
  if(NOT name STREQUAL "")
    string(APPEND script "set_tests_properties([==[${name}]==] PROPERTIES ${PROPERTIES})\n")
  endif()
endwhile()
file(WRITE "${OUTPUT}" "${script}")
