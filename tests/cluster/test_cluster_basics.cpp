// The 3-broker cluster and its controls: cluster metadata lists every broker;
// a broker that is stopped drops out of the metadata the others serve (Kafka
// lists only unfenced brokers) and comes back once it is started again.
#include "support/broker_env.hpp"
#include "support/cluster_ops.hpp"
#include "support/run_async.hpp"
#include "support/test_options.hpp"

#include "kwire/cluster_metadata.hpp"
#include "kwire/config.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <set>
#include <sstream>

using namespace kwire;
using namespace std::chrono_literals;

namespace {

constexpr auto no_throw = asio::experimental::as_tuple(asio::use_awaitable);

std::set<std::int32_t> all_ids(int count) {
    std::set<std::int32_t> ids;
    for (int id = 1; id <= count; ++id) ids.insert(id);
    return ids;
}

std::string to_string(const std::set<std::int32_t>& ids) {
    std::ostringstream out;
    out << "{";
    for (auto id : ids) out << (id == *ids.begin() ? "" : ",") << id;
    out << "}";
    return out.str();
}

// Refreshes until the metadata lists exactly `want` (metadata trails a broker
// leaving or joining by a few heartbeats) or `limit` passes; returns the
// broker ids of the last successful refresh.
asio::awaitable<std::set<std::int32_t>> wait_for_brokers(std::shared_ptr<cluster_metadata> meta,
                                                        std::set<std::int32_t> want,
                                                        std::chrono::seconds limit = 60s) {
    asio::steady_timer pause(co_await asio::this_coro::executor);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::set<std::int32_t> seen;
    std::string failure;
    while (true) {
        const std::optional<std::vector<std::string>> every;  // named: GCC 12 co_await bug
        auto [ec, snap] = co_await meta->async_refresh(every, no_throw);
        if (ec) {
            failure = meta->last_failure();
        } else {
            seen.clear();
            for (const auto& [id, b] : snap->brokers) seen.insert(id);
            if (seen == want) co_return seen;
        }
        if (std::chrono::steady_clock::now() >= deadline) break;
        pause.expires_after(250ms);
        co_await pause.async_wait(no_throw);
    }
    INFO("last refresh failure: " << failure);
    CHECK_MESSAGE(seen == want, "metadata lists brokers " << to_string(seen) << ", want " << to_string(want));
    co_return seen;
}

} // namespace

TEST_CASE("broker stop and start: a stopped broker drops out of cluster metadata and is listed again once restarted") {
    const int count = test::broker_count();
    REQUIRE_MESSAGE(count == 3, "cluster tests need the 3-broker cluster (tools/broker up --brokers 3)");
    // Broker 1 is the first bootstrap address: with it down, refreshes must move on.
    constexpr std::int32_t victim = 1;
    std::set<std::int32_t> rest = all_ids(count);
    rest.erase(victim);

    test::run_async<bool>(
        [&](asio::any_io_executor ex) -> asio::awaitable<bool> {
            auto pool = net::broker_pool::create(ex, test::connection_options());
            kwire::config c;
            c.set("bootstrap.servers", test::broker_env("KWIRE_BOOTSTRAP"));
            auto meta = cluster_metadata::create(pool, c.bootstrap_servers());

            // The whole cluster, with the id `tools/broker env` reported.
            const auto before = co_await wait_for_brokers(meta, all_ids(count), 30s);
            REQUIRE(before == all_ids(count));
            const auto snap = meta->current();
            REQUIRE(snap->cluster_id.has_value());
            CHECK(*snap->cluster_id == test::broker_env("KWIRE_CLUSTER_ID"));
            CHECK(snap->brokers.at(victim).host == "localhost");

            // Stopped: the remaining brokers answer, and no longer list it.
            test::restart_on_exit restart(victim);
            test::stop_node(victim);
            const auto during = co_await wait_for_brokers(meta, rest);
            REQUIRE(during == rest);
            CHECK(meta->current()->controller_id != victim);

            // Started again (start-node waits for its listeners): listed again.
            test::start_node(victim);
            restart.done();
            const auto after = co_await wait_for_brokers(meta, all_ids(count));
            CHECK(after == all_ids(count));
            pool->close();
            co_return true;
        },
        std::chrono::seconds(500));
}
