# Writes bambu-stream(1) from the program's own --help text, so the man page
# never drifts from the options. Run at build time as
#   cmake -DBINARY=... -DOUTPUT=... [-DEMULATOR="timeout ... qemu"] -DVERSION=... -P manpage.cmake
# EMULATOR is CMAKE_CROSSCOMPILING_EMULATOR, space-separated, in a cross
# build (it bounds the run with its own timeout); natively the run is bounded
# here. --help goes to stderr (stdout is for video only) and exits 0.
separate_arguments(EMULATOR UNIX_COMMAND "${EMULATOR}")
foreach(command "" " simulate" " status" " addon-config")
  string(STRIP "${command}" sub)
  execute_process(COMMAND ${EMULATOR} ${BINARY} ${sub} --help
                  RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE help TIMEOUT 120)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "bambu-stream${command} --help exited ${code}: ${help}")
  endif()
  # roff: a backslash is written \e; a line starting with . or ' is a request.
  string(REPLACE "\\" "\\e" help "${help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
  string(APPEND sections ".SH \"bambu-stream${command} --help\"\n.nf\n${help}.fi\n")
endforeach()
file(WRITE ${OUTPUT} ".TH BAMBU-STREAM 1 \"\" \"bambu-stream ${VERSION}\" \"User Commands\"
.SH NAME
bambu-stream \\- stream a Bambu Lab printer's camera to stdout, for go2rtc, ffplay or Frigate
.SH SYNOPSIS
.B bambu-stream
\\-\\-host \\fIADDRESS\\fR \\-\\-access\\-code \\fICODE\\fR [\\fIoptions\\fR]
.br
.B bambu-stream simulate
[\\fIoptions\\fR]
.br
.B bambu-stream status
[\\fIoptions\\fR]
.br
.B bambu-stream addon-config
[\\fIoptions\\fR]
.SH DESCRIPTION
The sections below are the program's own \\-\\-help text. The README, with
go2rtc, Docker and Raspberry Pi set-ups, is in /usr/share/doc/bambu-stream.
${sections}")
