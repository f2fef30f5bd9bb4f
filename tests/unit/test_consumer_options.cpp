// consumer_options from string properties: the retry and topic-creation keys
// the consumer takes from the shared vocabulary.
#include "kwire/consumer.hpp"

#include <doctest/doctest.h>

using kwire::config;
using kwire::consumer_options;

namespace {

config base() {
    config c;
    c.set("bootstrap.servers", "localhost:9092").set("group.id", "g");
    return c;
}

} // namespace

TEST_CASE("consumer options: retry.backoff.max.ms caps the consumer's backoff too") {
    CHECK(consumer_options::from_config(base()).retry_backoff_max.count() == 1000);
    config c = base();
    c.set("retry.backoff.ms", "20").set("retry.backoff.max.ms", "300");
    const auto o = consumer_options::from_config(c);
    CHECK(o.retry_backoff.count() == 20);
    CHECK(o.retry_backoff_max.count() == 300);
}

TEST_CASE("consumer options: allow.auto.create.topics is off unless set, as librdkafka's consumer") {
    CHECK_FALSE(consumer_options::from_config(base()).allow_auto_create_topics);
    config c = base();
    c.set("allow.auto.create.topics", "true");
    CHECK(consumer_options::from_config(c).allow_auto_create_topics);
    c.set("allow_auto_create_topics", "false");  // kafka-python's spelling
    CHECK_FALSE(consumer_options::from_config(c).allow_auto_create_topics);
}
