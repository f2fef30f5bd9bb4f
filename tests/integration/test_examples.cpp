// The quickstart examples (tools/examples) against the real broker: the
// producer, then the consumer, over SASL_PLAINTEXT and SASL_SSL, configured
// by environment variables and by properties files (the shipped
// sasl_ssl.properties among them). Their output lines are checked exactly,
// and the record the broker stored is read back with kwire's protocol
// helpers (not the client layer): the JSON string, quotes included.
#if defined(KWIRE_EXAMPLE_PRODUCER_PATH) && defined(KWIRE_EXAMPLE_CONSUMER_PATH)
#include "support/broker_ops.hpp"
#include "support/run_async.hpp"
#include "support/run_command.hpp"

#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/record_batch_reader.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace kwire;
using namespace kwire::test;

namespace {

const std::string producer_binary = KWIRE_EXAMPLE_PRODUCER_PATH;
const std::string consumer_binary = KWIRE_EXAMPLE_CONSUMER_PATH;
const std::string json_value = R"("Hello World! Hello Ckafka!")";

std::string new_topic(const std::string& prefix) {
    return run_async<std::string>([&](asio::any_io_executor ex) -> asio::awaitable<std::string> {
        auto boot = co_await open_bootstrap(ex);
        REQUIRE_MESSAGE(boot, boot.failure);
        auto topic = co_await create_topic(boot, unique_topic(prefix), 1, std::stoi(broker_env("KWIRE_BROKER_COUNT")));
        REQUIRE_MESSAGE(topic.error_code == 0, proto::kafka_error(topic.error_code).message());
        (void)co_await leader_of(boot, topic, 0);
        boot.conn->close();
        co_return topic.name;
    });
}

// The values stored in partition 0 of `topic_name`, read from its leader.
std::vector<std::string> stored_values(const std::string& topic_name) {
    return run_async<std::vector<std::string>>([&](asio::any_io_executor ex) -> asio::awaitable<std::vector<std::string>> {
        std::vector<std::string> values;
        auto boot = co_await open_bootstrap(ex);
        REQUIRE_MESSAGE(boot, boot.failure);
        topic_handle topic;
        topic.name = topic_name;
        auto [host, port] = co_await leader_of(boot, topic, 0);
        boot.conn->close();
        auto leader = co_await open_session(ex, host, port);
        REQUIRE_MESSAGE(leader, leader.failure);
        asio::steady_timer pause(ex);
        for (int attempt = 0; attempt < 50 && values.empty(); ++attempt) {
            auto f = co_await fetch(leader, topic, 0, 0);
            REQUIRE_MESSAGE(!f.ec, leader.conn->failure());
            if (f.error_code != 0 && proto::is_retriable(static_cast<proto::kafka_errc>(f.error_code))) {
                pause.expires_after(std::chrono::milliseconds(100));
                co_await pause.async_wait(no_throw);
                continue;
            }
            REQUIRE_MESSAGE(f.error_code == 0, proto::kafka_error(f.error_code).message());
            proto::record_batch_reader reader;
            reader.reset(f.records);
            while (reader.next_batch()) {
                proto::record r;
                while (reader.next_record(r))
                    values.emplace_back(r.value ? std::string(reinterpret_cast<const char*>(r.value->data()), r.value->size())
                                                : std::string("(null)"));
            }
        }
        leader.conn->close();
        co_return values;
    });
}

// `env NAME=value ... ` to put before a command (run_command runs it under
// coreutils timeout, so a plain shell assignment prefix would not work).
std::string env(const std::vector<std::pair<std::string, std::string>>& vars) {
    std::string out = "env ";
    for (const auto& [name, value] : vars) out += name + "=" + shell_quote(value) + " ";
    return out;
}

struct temp_properties {
    std::string path;
    explicit temp_properties(const std::string& content) {
        path = "/tmp/kwire-test-examples-" + std::to_string(::getpid()) + "-" +
               std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".properties";
        std::ofstream(path) << content;
    }
    ~temp_properties() { std::remove(path.c_str()); }
};

// Runs the producer, then the consumer (a new group, exiting after one
// record), and checks their output and what the broker stored.
void produce_then_consume(const std::string& topic, const std::string& settings, const std::string& properties_file) {
    const std::string file_arg = properties_file.empty() ? "" : " " + shell_quote(properties_file);
    const auto produced = run_command(settings + producer_binary + file_arg, 60);
    INFO("producer: " << produced.output);
    CHECK(produced.exit_code == 0);
    CHECK(produced.output == "Produced " + json_value + " to Topic:[" + topic + "] Partition:[0] Offset:[0]\n");

    const auto consumed = run_command(settings + consumer_binary + file_arg, 90);
    INFO("consumer: " << consumed.output);
    CHECK(consumed.exit_code == 0);
    CHECK(consumed.output == "Topic:[" + topic + "] Partition:[0] Offset:[0] Value:[" + json_value + "]\n");

    CHECK(stored_values(topic) == std::vector<std::string>{json_value});
}

} // namespace

TEST_CASE("examples: producer then consumer over SASL_PLAINTEXT configured by environment variables") {
    const std::string topic = new_topic("examples-sasl-plaintext");
    const std::string settings = env({
        {"KWIRE_BOOTSTRAP_SERVERS", broker_env("KWIRE_SASL_BOOTSTRAP")},
        {"KWIRE_SECURITY_PROTOCOL", "SASL_PLAINTEXT"},
        {"KWIRE_SASL_USERNAME", broker_env("KWIRE_SASL_USER")},
        {"KWIRE_SASL_PASSWORD", broker_env("KWIRE_SASL_PASSWORD")},
        {"KWIRE_TOPIC", topic},
        {"KWIRE_GROUP_ID", topic + "-group"},
        {"KWIRE_EXIT_AFTER_RECORDS", "1"},
        {"KWIRE_EXIT_AFTER_IDLE_MS", "30000"},
    });
    produce_then_consume(topic, settings, "");
}

TEST_CASE("examples: producer then consumer over SASL_SSL with the shipped sasl_ssl.properties") {
    // As tools/quickstart runs it: the file's keys, with the address, the
    // credentials and the CA overridden by environment variables, and the
    // host name check off.
    const std::string topic = new_topic("examples-sasl-ssl");
    const std::string settings = env({
        {"KWIRE_BOOTSTRAP_SERVERS", broker_env("KWIRE_SSL_BOOTSTRAP")},
        {"KWIRE_SASL_USERNAME", broker_env("KWIRE_SASL_USER")},
        {"KWIRE_SASL_PASSWORD", broker_env("KWIRE_SASL_PASSWORD")},
        {"KWIRE_SSL_CA_LOCATION", broker_env("KWIRE_CA_FILE")},
        {"KWIRE_SSL_CHECK_HOSTNAME", "false"},
        {"KWIRE_TOPIC", topic},
        {"KWIRE_GROUP_ID", topic + "-group"},
        {"KWIRE_EXIT_AFTER_RECORDS", "1"},
        {"KWIRE_EXIT_AFTER_IDLE_MS", "30000"},
    });
    produce_then_consume(topic, settings, std::string(KWIRE_SOURCE_DIR) + "/tools/examples/sasl_ssl.properties");
}

TEST_CASE("examples: producer then consumer over SASL_SSL with everything in a properties file") {
    const std::string topic = new_topic("examples-file");
    const temp_properties file("# SASL_SSL, as a managed service's quickstart file\n"
                               "bootstrap.servers=" + broker_env("KWIRE_SSL_BOOTSTRAP") + "\n"
                               "security.protocol=SASL_SSL\n"
                               "sasl.mechanism=PLAIN\n"
                               "sasl.username=" + broker_env("KWIRE_SASL_USER") + "\n"
                               "sasl.password=" + broker_env("KWIRE_SASL_PASSWORD") + "\n"
                               "ssl.ca.location=" + broker_env("KWIRE_CA_FILE") + "\n"
                               "topic=" + topic + "\n"
                               "group.id=" + topic + "-group\n"
                               "exit.after.records=1\n"
                               "exit.after.idle.ms=30000\n");
    // Only the file: the broker's environment (KWIRE_SASL_PASSWORD) must not fill in.
    produce_then_consume(topic, "env -u KWIRE_SASL_PASSWORD ", file.path);
}

TEST_CASE("examples: the consumer exits after the idle time when nothing arrives") {
    const std::string topic = new_topic("examples-idle");
    const auto r = run_command(env({{"KWIRE_BOOTSTRAP_SERVERS", broker_env("KWIRE_BOOTSTRAP")},
                                    {"KWIRE_TOPIC", topic},
                                    {"KWIRE_GROUP_ID", topic + "-group"},
                                    {"KWIRE_EXIT_AFTER_IDLE_MS", "1500"}}) +
                                   consumer_binary,
                               60);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.empty());
    CHECK(r.elapsed < std::chrono::seconds(20));
}

TEST_CASE("examples: bad settings exit 1 naming the problem") {
    const auto no_brokers = run_command("env -u KWIRE_BOOTSTRAP_SERVERS " + producer_binary, 30);
    CHECK(no_brokers.exit_code == 1);
    CHECK(no_brokers.output.find("KWIRE_BOOTSTRAP_SERVERS") != std::string::npos);

    const temp_properties file("bootstrap.servers=localhost:1\nlinger.milliseconds=5\n");
    const auto unknown = run_command(producer_binary + " " + shell_quote(file.path), 30);
    INFO(unknown.output);
    CHECK(unknown.exit_code == 1);
    CHECK(unknown.output.find(file.path + ":2: unknown configuration property 'linger.milliseconds'") != std::string::npos);
}
#endif
