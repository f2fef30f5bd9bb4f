// The managed-Kafka quickstart in C++, consumer side: joins a consumer group
// on a topic and prints every record as
//   Topic:[t] Partition:[p] Offset:[o] Value:[v]
//
//   kwire_example_consumer [client.properties]
//
// Settings: the properties file and/or KWIRE_* environment variables (see
// settings.hpp, sasl_plaintext.properties and sasl_ssl.properties). It runs
// until Ctrl-C, or, for scripts, until exit.after.records records have been
// printed or nothing arrived for exit.after.idle.ms.
#include "settings.hpp"

#include <kwire/consumer.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdint>
#include <exception>
#include <string_view>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int) { stop_requested = 1; }

} // namespace

int main(int argc, char** argv) try {
    example_settings settings = load_settings(argc, argv);
    // A group and a starting point for a first run, unless configured: the
    // records produced before the consumer started are printed too.
    if (!settings.client.get("group.id")) settings.client.set("group.id", "kwire-example");
    if (!settings.client.get("auto.offset.reset")) settings.client.set("auto.offset.reset", "earliest");

    kwire::consumer consumer(settings.client);
    consumer.subscribe({settings.topic});
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);

    using clock = std::chrono::steady_clock;
    std::int64_t printed = 0;
    auto last_record = clock::now();
    while (!stop_requested) {
        // The whole batch is printed, so that nothing is committed unseen.
        for (const kwire::consumer_record& m : consumer.poll(std::chrono::milliseconds(200))) {
            const std::string_view value = m.value_string();
            std::printf("Topic:[%.*s] Partition:[%d] Offset:[%lld] Value:[%.*s]\n", static_cast<int>(m.topic.size()),
                        m.topic.data(), m.partition, static_cast<long long>(m.offset), static_cast<int>(value.size()),
                        value.data());
            ++printed;
            last_record = clock::now();
        }
        std::fflush(stdout);
        if (settings.exit_after_records > 0 && printed >= settings.exit_after_records) break;
        if (settings.exit_after_idle.count() > 0 && clock::now() - last_record >= settings.exit_after_idle) break;
    }

    consumer.close();  // commits what was printed and leaves the group
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
}
