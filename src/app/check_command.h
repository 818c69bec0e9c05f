// `bambu-stream --check`: lint a stream's options without touching the network.
#pragma once

#include <string>

#include "config/stream_config.h"
#include "core/errors.h"

namespace bambu {

/// One line saying where `config` would stream from and which camera
/// protocol it would speak, e.g. "192.0.2.10:6000, source auto: serial
/// prefix 01P is model P1S, so jpeg (TLS, JPEG frames)". With --source auto
/// and no serial (or an unknown prefix) it names the host without a port and
/// says the protocol is probed at run time. Pure: no I/O.
std::string describe_check(const StreamConfig& config);

/// Runs --check on an already parsed (so validated) `config`: loads
/// --ca-file if given, then logs "check: ok: <describe_check()>; nothing was
/// contacted" on stderr (info level, so -q silences it) and returns
/// ExitCode::ok. Never connects, resolves a host name, or writes the
/// heartbeat. Throws FatalError(usage) if --ca-file cannot be loaded.
/// (Every other option error already failed parsing with exit 2.)
ExitCode run_check(const StreamConfig& config);

}  // namespace bambu
