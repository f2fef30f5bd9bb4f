#include "kwire/config.hpp"

#include "kwire/assignor.hpp"
#include "kwire/net/api_versions.hpp"
#include "kwire/net/log.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>

namespace kwire {
namespace {

const std::vector<config_key_info> keys = {
    {"bootstrap.servers", "", "Comma-separated host:port list of brokers to start from"},
    {"client.id", "kwire", "Client id sent with every request (appears in broker logs and quotas)"},
    {"socket.connection.setup.timeout.ms", "10000", "Time allowed to resolve and connect to a broker"},
    {"request.timeout.ms", "30000", "Time allowed for a broker to answer one request"},
    {"receive.message.max.bytes", "104857600", "Largest response frame accepted from a broker"},
    {"api.version.pin", "",
     "Caps on the API versions kwire sends, e.g. Produce=7,Fetch=11, broker:2.8 (what that Kafka release offers), "
     "or lowest (the oldest both sides speak)"},
    {"security.protocol", "PLAINTEXT", "How to talk to brokers: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"},
    {"sasl.mechanism", "PLAIN", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
    {"sasl.username", "", "SASL user name"},
    {"sasl.password", "", "SASL password", true},
    {"ssl.ca.location", "", "File of trusted CA certificates (PEM); default: the system's trust store"},
    {"ssl.ca.pem", "", "Trusted CA certificate(s) as PEM text"},
    {"ssl.certificate.location", "", "Client certificate chain (PEM file) for mutual TLS"},
    {"ssl.key.location", "", "Client private key (PEM file) for mutual TLS"},
    {"ssl.key.password", "", "Passphrase of the client private key", true},
    {"ssl.endpoint.identification.algorithm", "https",
     "https: the broker's certificate must name the host connected to; none: no host name check"},
    {"enable.ssl.certificate.verification", "true",
     "false: accept any broker certificate (insecure: for tests only)"},
    {"debug", "", "Debug messages to log, comma-separated: broker, protocol, security, all"},
    {"log_level", "6", "Most verbose level logged: error, warn, info, debug, or syslog 0-7"},
    {"reconnect.backoff.ms", "50", "Wait before reconnecting to a broker after a failure (doubles per failure)"},
    {"reconnect.backoff.max.ms", "1000", "Longest wait between reconnection attempts"},
    {"metadata.max.age.ms", "300000", "Refresh cluster metadata at least this often"},
    {"retry.backoff.ms", "100", "Wait before retrying a failed request (doubles per retry)"},
    {"retry.backoff.max.ms", "1000", "Longest wait between retries"},
    // Producer
    {"acks", "all", "Producer: acknowledgements the leader waits for: 0 (none), 1 (leader), all (-1: every in-sync replica)"},
    {"linger.ms", "5", "Producer: time a batch waits for more records before it is sent"},
    {"batch.size", "16384", "Producer: largest batch per partition, in bytes (uncompressed)"},
    {"buffer.memory", "33554432", "Producer: bytes of records waiting to be sent; send() waits when it is full"},
    {"max.block.ms", "60000", "Producer: longest time send() waits for buffer space"},
    {"max.request.size", "1048576", "Producer: largest Produce request, and so the largest record"},
    {"compression.type", "none", "Producer: batch compression: none, gzip, snappy, lz4 or zstd"},
    {"compression.level", "-1", "Producer: codec-specific compression level (-1: the codec's default)"},
    {"enable.idempotence", "true",
     "Producer: exactly-once per partition (no duplicates on retry, order kept); needs acks=all"},
    {"max.in.flight.requests.per.connection", "5", "Producer: Produce requests sent to a broker before the first is answered"},
    {"retries", "2147483647", "Producer: how often a failed batch is retried (within delivery.timeout.ms)"},
    {"delivery.timeout.ms", "120000", "Producer: time from send() until a record is acknowledged or reported failed"},
    {"partitioner", "murmur2_random",
     "Producer: murmur2_random (Java's default), murmur2, consistent_random, consistent (CRC32) or random"},
    {"allow.auto.create.topics", "true", "Ask the broker to create a missing topic (if the broker allows it)"},
    // Consumer
    {"group.id", "", "Consumer: the consumer group (needed for subscribe() and commits)"},
    {"group.instance.id", "", "Consumer: static member id: a restart within session.timeout.ms causes no rebalance"},
    {"auto.offset.reset", "latest",
     "Consumer: where to start without a committed offset: earliest, latest, or none (an error)"},
    {"enable.auto.commit", "true", "Consumer: commit positions in the background and on close"},
    {"auto.commit.interval.ms", "5000", "Consumer: how often positions are committed when auto-commit is on"},
    {"session.timeout.ms", "45000", "Consumer: a member not heard of for this long is removed from the group"},
    {"heartbeat.interval.ms", "3000", "Consumer: how often the member tells the group it is alive"},
    {"max.poll.interval.ms", "300000", "Consumer: longest time between poll() calls before the member leaves the group"},
    {"fetch.min.bytes", "1", "Consumer: the broker waits for this many bytes (or fetch.max.wait.ms) before answering"},
    {"fetch.max.bytes", "52428800", "Consumer: most bytes one fetch response may carry"},
    {"max.partition.fetch.bytes", "1048576", "Consumer: most bytes per partition in one fetch response"},
    {"fetch.max.wait.ms", "500", "Consumer: longest time the broker waits for fetch.min.bytes"},
    {"queued.max.bytes", "67108864", "Consumer: fetched bytes buffered ahead of poll() (prefetching stops beyond)"},
    {"max.poll.records", "500", "Consumer: most records one poll() returns"},
    {"isolation.level", "read_uncommitted",
     "Consumer: read_committed hides records of aborted and open transactions"},
    {"partition.assignment.strategy", "range,cooperative-sticky",
     "Consumer: assignors offered to the group, preferred first: range, roundrobin, cooperative-sticky"},
    {"client.rack", "", "Consumer: the rack of this client (for rack-aware assignment and fetching)"},
    {"check.crcs", "true", "Consumer: verify the CRC of every fetched batch"},
};

// kafka-python spellings of the same properties.
const std::map<std::string_view, std::string_view> aliases = {
    {"bootstrap_servers", "bootstrap.servers"},
    {"client_id", "client.id"},
    {"request_timeout_ms", "request.timeout.ms"},
    {"security_protocol", "security.protocol"},
    {"sasl_mechanism", "sasl.mechanism"},
    {"sasl.mechanisms", "sasl.mechanism"},  // librdkafka's spelling
    {"sasl_plain_username", "sasl.username"},
    {"sasl_plain_password", "sasl.password"},
    {"ssl_cafile", "ssl.ca.location"},
    {"ssl_certfile", "ssl.certificate.location"},
    {"ssl_keyfile", "ssl.key.location"},
    {"ssl_password", "ssl.key.password"},
    {"reconnect_backoff_ms", "reconnect.backoff.ms"},
    {"reconnect_backoff_max_ms", "reconnect.backoff.max.ms"},
    {"metadata_max_age_ms", "metadata.max.age.ms"},
    {"retry_backoff_ms", "retry.backoff.ms"},
    {"request.required.acks", "acks"},  // librdkafka
    {"linger_ms", "linger.ms"},
    {"queue.buffering.max.ms", "linger.ms"},  // librdkafka
    {"batch_size", "batch.size"},
    {"buffer_memory", "buffer.memory"},
    {"max_block_ms", "max.block.ms"},
    {"max_request_size", "max.request.size"},
    {"compression_type", "compression.type"},
    {"compression.codec", "compression.type"},  // librdkafka
    {"enable_idempotence", "enable.idempotence"},
    {"max_in_flight_requests_per_connection", "max.in.flight.requests.per.connection"},
    {"max.in.flight", "max.in.flight.requests.per.connection"},  // librdkafka
    {"message.send.max.retries", "retries"},  // librdkafka
    {"delivery_timeout_ms", "delivery.timeout.ms"},
    {"message.timeout.ms", "delivery.timeout.ms"},  // librdkafka
    {"allow_auto_create_topics", "allow.auto.create.topics"},
    {"group_id", "group.id"},
    {"group_instance_id", "group.instance.id"},
    {"auto_offset_reset", "auto.offset.reset"},
    {"enable_auto_commit", "enable.auto.commit"},
    {"auto_commit_interval_ms", "auto.commit.interval.ms"},
    {"session_timeout_ms", "session.timeout.ms"},
    {"heartbeat_interval_ms", "heartbeat.interval.ms"},
    {"max_poll_interval_ms", "max.poll.interval.ms"},
    {"fetch_min_bytes", "fetch.min.bytes"},
    {"fetch_max_bytes", "fetch.max.bytes"},
    {"max_partition_fetch_bytes", "max.partition.fetch.bytes"},
    {"fetch_max_wait_ms", "fetch.max.wait.ms"},
    {"fetch.wait.max.ms", "fetch.max.wait.ms"},  // librdkafka
    {"max_poll_records", "max.poll.records"},
    {"isolation_level", "isolation.level"},
    {"partition_assignment_strategy", "partition.assignment.strategy"},
    {"client_rack", "client.rack"},
    {"check_crcs", "check.crcs"},
};

// kafka-python's ssl_check_hostname (a boolean) is
// ssl.endpoint.identification.algorithm (https or none).
constexpr std::string_view check_hostname_alias = "ssl_check_hostname";

std::string trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r");
    return std::string(s.substr(first, last - first + 1));
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool one_of(std::string_view value, std::initializer_list<std::string_view> choices) {
    const std::string v = upper(value);
    for (auto c : choices)
        if (v == c) return true;
    return false;
}

// Checks the value of a known property; throws config_error naming the key.
// Secret values are never quoted.
void validate(const std::string& name, std::string_view value) {
    if (name == "api.version.pin") {
        try {
            (void)net::version_pins::parse(value);
        } catch (const std::invalid_argument& e) {
            throw config_error("api.version.pin: " + std::string(e.what()));
        }
    } else if (name == "security.protocol") {
        if (!one_of(value, {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}))
            throw config_error("security.protocol: '" + std::string(value) +
                               "' is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
    } else if (name == "sasl.mechanism") {
        if (one_of(value, {"GSSAPI", "OAUTHBEARER"}))
            throw config_error("sasl.mechanism: " + upper(value) +
                               " is not supported by kwire (use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)");
        if (!one_of(value, {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}))
            throw config_error("sasl.mechanism: '" + std::string(value) +
                               "' is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512");
    } else if (name == "ssl.endpoint.identification.algorithm") {
        if (!one_of(value, {"HTTPS", "NONE"}))
            throw config_error("ssl.endpoint.identification.algorithm: '" + std::string(value) +
                               "' is not https or none");
    } else if (name == "acks") {
        if (!one_of(value, {"0", "1", "-1", "ALL"}))
            throw config_error("acks: '" + std::string(value) + "' is not one of 0, 1, all (-1)");
    } else if (name == "compression.type") {
        if (!one_of(value, {"NONE", "GZIP", "SNAPPY", "LZ4", "ZSTD"}))
            throw config_error("compression.type: '" + std::string(value) +
                               "' is not one of none, gzip, snappy, lz4, zstd");
    } else if (name == "compression.level") {
        int level = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), level);
        if (ec != std::errc{} || end != value.data() + value.size())
            throw config_error("compression.level: '" + std::string(value) + "' is not an integer");
    } else if (name == "partitioner") {
        if (!one_of(value, {"MURMUR2_RANDOM", "MURMUR2", "CONSISTENT_RANDOM", "CONSISTENT", "RANDOM"}))
            throw config_error("partitioner: '" + std::string(value) +
                               "' is not one of murmur2_random, murmur2, consistent_random, consistent, random");
    } else if (name == "auto.offset.reset") {
        // librdkafka's synonyms too.
        if (!one_of(value, {"EARLIEST", "LATEST", "NONE", "SMALLEST", "LARGEST", "BEGINNING", "END", "ERROR"}))
            throw config_error("auto.offset.reset: '" + std::string(value) + "' is not one of earliest, latest, none");
    } else if (name == "isolation.level") {
        if (!one_of(value, {"READ_UNCOMMITTED", "READ_COMMITTED"}))
            throw config_error("isolation.level: '" + std::string(value) + "' is not read_uncommitted or read_committed");
    } else if (name == "partition.assignment.strategy") {
        std::string_view rest = value;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            const std::string item = trim(rest.substr(0, comma));
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            if (!item.empty() && !make_assignor(item))
                throw config_error("partition.assignment.strategy: unknown assignor '" + item +
                                   "' (known: range, roundrobin, cooperative-sticky)");
        }
    } else if (name == "debug") {
        try {
            (void)net::logger::parse_debug(value);
        } catch (const std::invalid_argument& e) {
            throw config_error("debug: " + std::string(e.what()));
        }
    } else if (name == "log_level") {
        try {
            (void)net::logger::parse_level(value);
        } catch (const std::invalid_argument& e) {
            throw config_error("log_level: " + std::string(e.what()));
        }
    }
}

bool is_integer_key(std::string_view name) {
    return name.ends_with(".ms") || name.ends_with(".bytes") || name == "batch.size" || name == "buffer.memory" ||
           name == "max.request.size" || name == "max.in.flight.requests.per.connection" || name == "retries" ||
           name == "max.poll.records";
}

bool is_boolean_key(std::string_view name) {
    return name == "enable.ssl.certificate.verification" || name == "enable.idempotence" ||
           name == "allow.auto.create.topics" || name == "enable.auto.commit" || name == "check.crcs";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

const config_key_info* find_key(std::string_view name) {
    if (auto a = aliases.find(name); a != aliases.end()) name = a->second;
    for (const auto& k : keys)
        if (k.name == name) return &k;
    return nullptr;
}

std::string nearest_key(std::string_view name) {
    std::string_view best;
    std::size_t best_distance = std::string_view::npos;
    auto consider = [&](std::string_view candidate) {
        const std::size_t d = edit_distance(name, candidate);
        if (d < best_distance) {
            best_distance = d;
            best = candidate;
        }
    };
    for (const auto& k : keys) consider(k.name);
    for (const auto& a : aliases) consider(a.first);
    consider(check_hostname_alias);
    return std::string(best);
}


} // namespace

const std::vector<config_key_info>& config::known_keys() { return keys; }
const std::map<std::string_view, std::string_view>& config::known_aliases() { return aliases; }

config& config::set(std::string_view key, std::string_view value) {
    if (key == check_hostname_alias) {
        if (value == "true" || value == "True" || value == "1") return set("ssl.endpoint.identification.algorithm", "https");
        if (value == "false" || value == "False" || value == "0") return set("ssl.endpoint.identification.algorithm", "none");
        throw config_error("configuration property 'ssl_check_hostname' needs true or false, got '" +
                           std::string(value) + "'");
    }
    const config_key_info* info = find_key(key);
    if (!info) {
        throw config_error("unknown configuration property '" + std::string(key) + "' (did you mean '" +
                           nearest_key(key) + "'?)");
    }
    const std::string name(info->name);
    const std::string previous = values_.count(name) ? values_[name] : std::string();
    values_[name] = std::string(value);
    // Validate values now, so a typo fails at configuration time.
    try {
        if (is_integer_key(name)) (void)get_int(name);
        else if (is_boolean_key(name)) (void)get_bool(name);
        else validate(name, value);
    } catch (...) {
        if (previous.empty()) values_.erase(name);
        else values_[name] = previous;
        throw;
    }
    return *this;
}

config& config::load_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw config_error("cannot read configuration file '" + path + "'");
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#' || t[0] == '!') continue;
        const auto eq = t.find_first_of("=:");
        if (eq == std::string::npos) {
            throw config_error(path + ":" + std::to_string(number) + ": expected key=value");
        }
        try {
            set(trim(std::string_view(t).substr(0, eq)), trim(std::string_view(t).substr(eq + 1)));
        } catch (const config_error& e) {
            throw config_error(path + ":" + std::to_string(number) + ": " + e.what());
        }
    }
    return *this;
}

std::optional<std::string> config::get(std::string_view key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::string config::get_or_default(std::string_view key) const {
    if (auto v = get(key)) return *v;
    const config_key_info* info = find_key(key);
    return info ? std::string(info->default_value) : std::string();
}

std::int64_t config::get_int(std::string_view key) const {
    const std::string v = get_or_default(key);
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc{} || end != v.data() + v.size() || out < 0) {
        throw config_error("configuration property '" + std::string(key) + "' needs a non-negative integer, got '" +
                           v + "'");
    }
    return out;
}

std::chrono::milliseconds config::get_ms(std::string_view key) const {
    return std::chrono::milliseconds(get_int(key));
}

bool config::get_bool(std::string_view key) const {
    const std::string v = get_or_default(key);
    if (v == "true" || v == "True" || v == "1") return true;
    if (v == "false" || v == "False" || v == "0") return false;
    throw config_error("configuration property '" + std::string(key) + "' needs true or false, got '" + v + "'");
}

std::vector<std::pair<std::string, std::string>> config::bootstrap_servers() const {
    std::vector<std::pair<std::string, std::string>> out;
    const std::string list = get_or_default("bootstrap.servers");
    std::string_view rest = list;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string item = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (item.empty()) continue;
        // host:port, [v6]:port; a missing port means Kafka's default 9092.
        std::string host = item, port = "9092";
        if (item.front() == '[') {
            const auto close = item.find(']');
            if (close == std::string::npos) throw config_error("bootstrap.servers: malformed address '" + item + "'");
            host = item.substr(1, close - 1);
            if (close + 1 < item.size() && item[close + 1] == ':') port = item.substr(close + 2);
        } else if (const auto colon = item.rfind(':'); colon != std::string::npos) {
            host = item.substr(0, colon);
            port = item.substr(colon + 1);
        }
        if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos) {
            throw config_error("bootstrap.servers: malformed address '" + item + "' (expected host:port)");
        }
        out.emplace_back(std::move(host), std::move(port));
    }
    if (out.empty()) throw config_error("bootstrap.servers is empty: give at least one host:port");
    return out;
}

} // namespace kwire
