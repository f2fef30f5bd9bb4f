// The managed-Kafka quickstart in C++, producer side: sends the JSON string
// "Hello World! Hello Ckafka!" (what Python's json.dumps makes of it) to a
// topic and prints where it was stored.
//
//   kwire_example_producer [client.properties]
//
// Settings: the properties file and/or KWIRE_* environment variables (see
// settings.hpp, sasl_plaintext.properties and sasl_ssl.properties).
#include "settings.hpp"

#include <kwire/producer.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) try {
    const example_settings settings = load_settings(argc, argv);
    kwire::producer producer(settings.client);

    const std::string message = R"("Hello World! Hello Ckafka!")";
    kwire::producer_record record;
    record.topic = settings.topic;
    record.value = message;  // copied by the send
    // Blocks until the broker has stored the record; throws if it cannot.
    const kwire::record_metadata stored = producer.send_sync(record);
    std::printf("Produced %s to Topic:[%s] Partition:[%d] Offset:[%lld]\n", message.c_str(), settings.topic.c_str(),
                stored.partition, static_cast<long long>(stored.offset));

    producer.close(std::chrono::seconds(10));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "producer: %s\n", e.what());
    return 1;
}
