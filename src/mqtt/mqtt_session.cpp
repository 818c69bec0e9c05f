#include "mqtt/mqtt_session.h"

#include <mosquitto.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <random>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mqtt/printer_report.h"
#include "transport/endpoint.h"
#include "transport/socket.h"

namespace bambu {

namespace {

// The broker's one user name on every printer (OpenBambuAPI mqtt.md).
constexpr const char* k_user = "bblp";
// The two requests sent once after each CONNACK (pybambu commands.py,
// PUSH_ALL and GET_VERSION; OpenBambuAPI pushing.pushall, info.get_version).
constexpr std::string_view k_pushall = R"({"pushing":{"sequence_id":"0","command":"pushall"}})";
constexpr std::string_view k_get_version = R"({"info":{"sequence_id":"0","command":"get_version"}})";

// libmosquitto's global set-up (it also seeds rand()), once per process;
// never undone: the library stays usable until exit.
void init_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS) throw std::runtime_error("mosquitto_lib_init failed");
  });
}

std::string make_client_id() {
  std::random_device random;
  return fmt::format("bambu-stream-{}-{:08x}", static_cast<long>(::getpid()), random());
}

// A refused CONNACK in words that name the cause (MQTT 3.1.1, section
// 3.2.2.3: 4 bad user name or password, 5 not authorized).
std::string describe_connack(int rc) {
  switch (rc) {
    case 4: return "the broker refused the login: bad user name or password (CONNACK 4): the access code is wrong";
    case 5: return "the broker refused the login: not authorised (CONNACK 5): check the access code";
    default: return fmt::format("the broker refused the connection: {} (CONNACK {})", mosquitto_connack_string(rc), rc);
  }
}

// Whether socket `fd`, before the CONNACK, has failed: its pending error
// (ECONNREFUSED...), or ECONNABORTED for one that hung up with the error
// already taken. libmosquitto does not see this itself while in its TLS
// handshake: its SSL_connect treats SSL_ERROR_SYSCALL as "try again", so it
// would retry at once, over and over, until the CONNACK timeout. 0 if the
// socket is fine or gone.
int connect_failure(int fd) {
  if (fd < 0) return 0;
  pollfd p{fd, 0, 0};
  if (::poll(&p, 1, 0) != 1 || (p.revents & (POLLERR | POLLHUP)) == 0) return 0;
  int error = 0;
  socklen_t size = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) return errno;
  return error != 0 ? error : ECONNABORTED;
}

}  // namespace

std::string_view to_string(ChamberLight light) {
  return light == ChamberLight::second ? "chamber_light2" : "chamber_light";
}

std::string ledctrl_request(ChamberLight light, bool on) {
  nlohmann::json system = {{"sequence_id", "0"},   {"command", "ledctrl"},   {"led_node", to_string(light)},
                           {"led_mode", on ? "on" : "off"}, {"led_on_time", 500}, {"led_off_time", 500},
                           {"loop_times", 1},       {"interval_time", 1000}};
  return nlohmann::json{{"system", std::move(system)}}.dump();
}

void MqttSession::MosquittoDeleter::operator()(mosquitto* client) const { mosquitto_destroy(client); }

MqttSession::MqttSession(MqttOptions options, const Logger& log, const StopFlag& stop, OnChange on_change)
    : options_(std::move(options)),
      log_(log),
      stop_(stop),
      on_change_(std::move(on_change)),
      client_id_(make_client_id()),
      report_topic_("device/" + options_.serial + "/report"),
      request_topic_("device/" + options_.serial + "/request"),
      tls_(options_.tls) {
  init_library();
  thread_ = std::thread([this] { run(); });
}

MqttSession::~MqttSession() { close(); }

void MqttSession::close() {
  closing_.request_stop(StopReason::requested);
  if (thread_.joinable()) thread_.join();
}

bool MqttSession::stopping() const { return stop_.stop_requested() || closing_.stop_requested(); }

PrinterState MqttSession::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

bool MqttSession::wait_for(const std::function<bool(const PrinterState&)>& ready, Deadline deadline) const {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline, [&] { return finished_ || ready(state_); });
  return ready(state_);
}

bool MqttSession::wait_for_full_report(Deadline deadline) const {
  return wait_for([](const PrinterState& s) { return s.full_report_seen; }, deadline);
}

bool MqttSession::connected() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

std::string MqttSession::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

bool MqttSession::set_chamber_light(ChamberLight light, bool on) {
  const std::string payload = ledctrl_request(light, on);
  std::lock_guard lock(client_mutex_);
  return client_ != nullptr && connected() && publish(client_, payload);
}

bool MqttSession::publish(mosquitto* client, const std::string& payload) {
  const int rc = mosquitto_publish(client, nullptr, request_topic_.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), 0, false);
  if (rc != MOSQ_ERR_SUCCESS) log_.debug("mqtt: publish to {} failed: {}", request_topic_, mosquitto_strerror(rc));
  return rc == MOSQ_ERR_SUCCESS;
}

void MqttSession::set_connected(bool connected) {
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    changed = connected_ != connected;
    connected_ = connected;
  }
  changed_.notify_all();
  if (changed) notify_change();
}

void MqttSession::notify_change() {
  if (on_change_) on_change_(*this, state());
}

void MqttSession::run() noexcept {
  try {
    std::size_t failures = 0;
    while (!stopping()) {
      if (run_attempt()) failures = 0;
      if (stopping()) break;
      const auto wait = k_backoff[std::min(failures, k_backoff.size() - 1)];
      ++failures;
      wait_fd(closing_.fd(), POLLIN, Clock::now() + wait, stop_);
    }
  } catch (const std::exception& e) {
    log_.error("mqtt: the session ended: {}", e.what());
  } catch (...) {
    log_.error("mqtt: the session ended on an unknown error");
  }
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
    connected_ = false;
  }
  changed_.notify_all();
}

MqttSession::Client MqttSession::new_client() {
  Client client(mosquitto_new(client_id_.c_str(), true, this));
  if (!client) throw std::runtime_error(std::string("mosquitto_new: ") + std::strerror(errno));
  mosquitto* raw = client.get();
  // Our thread runs the loop; other threads only publish (set_chamber_light).
  mosquitto_threaded_set(raw, true);
  mosquitto_int_option(raw, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  // TLS through our SSL_CTX alone: its verify callback enforces the
  // certificate policy inside the handshake, before CONNECT is written.
  mosquitto_int_option(raw, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
  if (mosquitto_void_option(raw, MOSQ_OPT_SSL_CTX, tls_.get()) != MOSQ_ERR_SUCCESS ||
      mosquitto_username_pw_set(raw, k_user, options_.access_code.c_str()) != MOSQ_ERR_SUCCESS) {
    throw std::runtime_error("libmosquitto refused the TLS context or the login");
  }
  mosquitto_connect_callback_set(raw, &MqttSession::on_connect);
  mosquitto_disconnect_callback_set(raw, &MqttSession::on_disconnect);
  mosquitto_message_callback_set(raw, &MqttSession::on_message);
  mosquitto_log_callback_set(raw, &MqttSession::on_log);
  return client;
}

// One connection: connect, run until it ends or the session stops, then
// say why it ended. Returns whether the broker accepted the login.
bool MqttSession::run_attempt() {
  Client client = new_client();
  connack_rc_ = -1;
  was_connected_ = false;
  disconnect_rc_ = MOSQ_ERR_SUCCESS;
  tls_.take_refusal();
  Ending ending;
  ending.rc = mosquitto_connect_async(client.get(), options_.host.c_str(), options_.port,
                                      std::max(options_.keepalive_s, 5));
  ending.error = errno;
  if (ending.rc == MOSQ_ERR_SUCCESS) {
    {
      std::lock_guard lock(client_mutex_);
      client_ = client.get();
    }
    ending = drive(client.get());
    if (connack_rc_ == 0 && ending.rc == MOSQ_ERR_SUCCESS) say_goodbye(client.get());
    {
      std::lock_guard lock(client_mutex_);
      client_ = nullptr;
    }
    set_connected(false);
  }
  client.reset();  // closes the socket
  if (!stopping()) report_failure(describe(ending));
  return connack_rc_ == 0;
}

// Runs libmosquitto's loop until the connection ends, the CONNACK is late,
// or the session stops (then rc is MOSQ_ERR_SUCCESS).
MqttSession::Ending MqttSession::drive(mosquitto* client) {
  const Deadline connack_deadline = Clock::now() + k_connack_timeout;
  const int timeout_ms = static_cast<int>(k_poll_interval.count());
  while (!stopping()) {
    if (connack_rc_ == -1) {
      if (const int error = connect_failure(mosquitto_socket(client)); error != 0) return {MOSQ_ERR_ERRNO, error};
    }
    errno = 0;
    const int rc = mosquitto_loop(client, timeout_ms, 1);
    if (rc != MOSQ_ERR_SUCCESS) return {rc, errno};
    if (connack_rc_ == -1 && Clock::now() >= connack_deadline) return {MOSQ_ERR_TIMEOUT, 0};
  }
  return {};
}

// The session is stopping while connected: sends what is still queued (a
// ledctrl restoring the light) and a DISCONNECT, in that order, within
// k_close_flush, so that the broker acts on them rather than on a reset.
void MqttSession::say_goodbye(mosquitto* client) {
  if (mosquitto_disconnect(client) != MOSQ_ERR_SUCCESS) return;
  const Deadline deadline = Clock::now() + k_close_flush;
  while (connected() && Clock::now() < deadline) {
    if (mosquitto_loop(client, 20, 1) != MOSQ_ERR_SUCCESS) break;
  }
}

// Why an attempt ended, in one line naming the broker, and its kind.
MqttSession::Failure MqttSession::describe(const Ending& ending) {
  const std::string where = "MQTT broker " + format_endpoint(options_.host, options_.port);
  if (std::string refusal = tls_.take_refusal(); !refusal.empty()) {
    return {FailureKind::certificate,
            fmt::format("{}: {}; the TLS handshake was refused, so the access code was not sent", where, refusal)};
  }
  if (connack_rc_ > 0) return {FailureKind::login, fmt::format("{}: {}", where, describe_connack(connack_rc_))};
  if (was_connected_) {
    // libmosquitto ends a silent connection itself and says why only to
    // on_disconnect; its loop then reports "no connection".
    if (ending.rc == MOSQ_ERR_KEEPALIVE || disconnect_rc_ == MOSQ_ERR_KEEPALIVE) {
      return {FailureKind::silent, where + ": the broker stopped answering (no reply within the keepalive)"};
    }
    return {FailureKind::closed,
            fmt::format("{}: the broker closed the connection ({})", where, mosquitto_strerror(ending.rc))};
  }
  switch (ending.rc) {
    case MOSQ_ERR_TIMEOUT:
      return {FailureKind::silent, fmt::format("{}: the broker never answered (no CONNACK within {} s)", where,
                                               k_connack_timeout.count())};
    case MOSQ_ERR_ERRNO:
      if (ending.error != ECONNABORTED) {
        return {FailureKind::unreachable, fmt::format("{}: cannot connect: {}", where, std::strerror(ending.error))};
      }
      [[fallthrough]];
    case MOSQ_ERR_TLS:
    case MOSQ_ERR_TLS_HANDSHAKE:
      return {FailureKind::unreachable, where + ": the TLS handshake did not complete: the port refused or closed "
                                                "the connection, or does not speak TLS"};
    case MOSQ_ERR_EAI: return {FailureKind::unreachable, where + ": cannot resolve the host name"};
    case MOSQ_ERR_CONN_LOST:
    case MOSQ_ERR_NO_CONN:
      return {FailureKind::closed, where + ": the broker closed the connection before answering the login"};
    default: return {FailureKind::closed, fmt::format("{}: {}", where, mosquitto_strerror(ending.rc))};
  }
}

// Logs a failure: at once when its kind differs from the last one logged
// (the words of one kind vary with timing: a reset may come before or
// during the TLS handshake), else at most once a minute with the count.
void MqttSession::report_failure(const Failure& failure) {
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    changed = last_error_ != failure.line;
    last_error_ = failure.line;
  }
  if (changed) notify_change();
  const auto now = Clock::now();
  if (failure.kind != logged_kind_) {
    logged_kind_ = failure.kind;
    repeated_failure_ = Throttle(std::chrono::minutes(1));
    repeated_failure_.pass(now);
    log_.warning("mqtt: {}; retrying", failure.line);
  } else if (const auto count = repeated_failure_.pass(now)) {
    log_.warning("mqtt: {}; retrying ({} times since the last such line)", failure.line, count);
  }
}

void MqttSession::on_connect(mosquitto* client, void* self, int rc) noexcept {
  try {
    static_cast<MqttSession*>(self)->handle_connack(client, rc);
  } catch (...) {
    // Out of memory in a log line or a copy: the next report tries again.
  }
}

void MqttSession::handle_connack(mosquitto* client, int rc) {
  connack_rc_ = rc;
  if (rc != 0) return;  // described when the attempt ends
  was_connected_ = true;
  const int sub = mosquitto_subscribe(client, nullptr, report_topic_.c_str(), 0);
  const bool asked = publish(client, std::string(k_pushall)) && publish(client, std::string(k_get_version));
  if (sub != MOSQ_ERR_SUCCESS || !asked) {
    log_.warning("mqtt: could not subscribe to {} or ask for a full report", report_topic_);
  }
  if (logged_kind_ != FailureKind::none) {
    log_.info("mqtt: connected to {} again", format_endpoint(options_.host, options_.port));
  } else {
    log_.debug("mqtt: connected to {} as {}", format_endpoint(options_.host, options_.port), client_id_);
  }
  logged_kind_ = FailureKind::none;
  set_connected(true);
}

void MqttSession::on_disconnect(mosquitto*, void* self, int rc) noexcept {
  try {
    auto* session = static_cast<MqttSession*>(self);
    session->disconnect_rc_ = rc;
    session->set_connected(false);
  } catch (...) {
  }
}

void MqttSession::on_message(mosquitto*, void* self, const mosquitto_message* message) noexcept {
  try {
    if (message != nullptr) static_cast<MqttSession*>(self)->handle_report(*message);
  } catch (...) {
    // Out of memory: this report is lost; the state keeps the last one.
  }
}

void MqttSession::handle_report(const mosquitto_message& message) {
  if (message.topic == nullptr || report_topic_ != message.topic) return;
  const std::string_view payload(static_cast<const char*>(message.payload),
                                 message.payload == nullptr ? 0 : static_cast<std::size_t>(message.payloadlen));
  std::optional<PrinterState> changed;
  ReportOutcome outcome;
  {
    std::lock_guard lock(mutex_);
    outcome = merge_report(payload, state_);
    if (outcome.changed) changed = state_;
  }
  if (!outcome.problem.empty()) {
    if (const auto count = bad_report_.pass(Clock::now()); count == 1) {
      log_.warning("mqtt: {}", outcome.problem);
    } else if (count > 1) {
      log_.warning("mqtt: {} ({} bad reports since the last such line)", outcome.problem, count);
    }
  }
  if (!changed) return;
  changed_.notify_all();
  if (on_change_) on_change_(*this, *changed);
}

void MqttSession::on_log(mosquitto*, void* self, int level, const char* text) noexcept {
  try {
    const auto* session = static_cast<const MqttSession*>(self);
    if (text != nullptr && level != MOSQ_LOG_DEBUG) session->log_.debug("mqtt: libmosquitto: {}", text);
  } catch (...) {
  }
}

}  // namespace bambu
