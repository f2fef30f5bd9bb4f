// The partition assignors (kwire/assignor.hpp): range and roundrobin on fixed
// inputs with the Java client's answers (the examples of its documentation,
// and groups AssignorVectors.java ran through Kafka 4.4's assignors; the live
// comparison on fresh random groups is tests/integration/
// test_assignors_java.cpp), and cooperative-sticky's properties on fixed and
// on thousands of random groups: valid, balanced, sticky, cooperative (never
// handing a partition to a new owner while another member still owns it),
// complete after the follow-up rebalance, and deterministic.
#include "kwire/assignor.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using kwire::assignor;
using kwire::group_assignment;
using kwire::make_assignor;
using kwire::member_subscription;
using kwire::rebalance_protocol;
using kwire::topic_partition;

namespace {

using topic_counts = std::map<std::string, std::int32_t>;
using partition_list = std::vector<topic_partition>;

member_subscription member(std::string id, std::vector<std::string> topics,
                           std::optional<std::string> instance = std::nullopt) {
    member_subscription m;
    m.member_id = std::move(id);
    m.topics = std::move(topics);
    m.group_instance_id = std::move(instance);
    return m;
}

member_subscription owning(std::string id, std::vector<std::string> topics, partition_list owned,
                           std::int32_t generation) {
    member_subscription m = member(std::move(id), std::move(topics));
    m.owned_partitions = std::move(owned);
    m.generation = generation;
    return m;
}

// "t0:0,t0:1" -> partitions; "-" or "" -> none.
partition_list parts(std::string_view text) {
    partition_list out;
    if (text.empty() || text == "-") return out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const std::string_view item = text.substr(start, comma - start);
        const std::size_t colon = item.rfind(':');
        out.push_back({std::string(item.substr(0, colon)), std::stoi(std::string(item.substr(colon + 1)))});
        start = comma + 1;
    }
    return out;
}

partition_list sorted(partition_list l) {
    std::sort(l.begin(), l.end());
    return l;
}

std::string show(const group_assignment& a) {
    std::ostringstream s;
    for (const auto& [id, l] : a) {
        s << id << ":";
        for (const auto& tp : l) s << ' ' << tp.to_string();
        s << '\n';
    }
    return s.str();
}

group_assignment run(std::string_view name, const topic_counts& counts, const std::vector<member_subscription>& members) {
    auto a = make_assignor(name);
    REQUIRE(a);
    return a->assign(counts, members);
}

} // namespace

TEST_CASE("assignors: make_assignor knows the protocol names and the Java class names") {
    for (const auto& [name_, protocol_name, protocol] :
         {std::tuple{"range", "range", rebalance_protocol::eager},
          std::tuple{"org.apache.kafka.clients.consumer.RangeAssignor", "range", rebalance_protocol::eager},
          std::tuple{"roundrobin", "roundrobin", rebalance_protocol::eager},
          std::tuple{"org.apache.kafka.clients.consumer.RoundRobinAssignor", "roundrobin", rebalance_protocol::eager},
          std::tuple{"cooperative-sticky", "cooperative-sticky", rebalance_protocol::cooperative},
          std::tuple{"org.apache.kafka.clients.consumer.CooperativeStickyAssignor", "cooperative-sticky",
                     rebalance_protocol::cooperative}}) {
        const std::string name = name_;
        INFO(name);
        auto a = make_assignor(name);
        REQUIRE(a);
        CHECK(a->name() == protocol_name);
        CHECK(a->protocol() == protocol);
        CHECK(a->subscription_user_data({{"t", 0}}).empty());
    }
    CHECK(!make_assignor("sticky"));
    CHECK(!make_assignor("Range"));
    CHECK(!make_assignor(""));
    CHECK(!make_assignor("org.apache.kafka.clients.consumer.StickyAssignor"));
}

TEST_CASE("range: Java's documented example") {
    // C0: [t0p0, t0p1, t1p0, t1p1], C1: [t0p2, t1p2]
    const auto a = run("range", {{"t0", 3}, {"t1", 3}}, {member("C1", {"t0", "t1"}), member("C0", {"t1", "t0"})});
    CHECK(a.at("C0") == parts("t0:0,t0:1,t1:0,t1:1"));
    CHECK(a.at("C1") == parts("t0:2,t1:2"));
    CHECK(a.size() == 2);
}

TEST_CASE("range: static members come first, by group.instance.id, whatever their member ids") {
    // After a rolling bounce the member ids change, the instance ids do not.
    const auto a = run("range", {{"t0", 3}, {"t1", 3}},
                       {member("C3", {"t0", "t1"}, "I0"), member("C2", {"t0", "t1"}, "I1")});
    CHECK(a.at("C3") == parts("t0:0,t0:1,t1:0,t1:1"));
    CHECK(a.at("C2") == parts("t0:2,t1:2"));
    // Static before dynamic even when the dynamic member id sorts first.
    const auto b = run("range", {{"t", 5}}, {member("a", {"t"}), member("z", {"t"}, "zz"), member("b", {"t"})});
    CHECK(b.at("z") == parts("t:0,t:1"));
    CHECK(b.at("a") == parts("t:2,t:3"));
    CHECK(b.at("b") == parts("t:4"));
}

TEST_CASE("range: a group Kafka 4.4's RangeAssignor assigned (static members, non-ASCII ids, empty topic)") {
    // AssignorVectors.java --seed 5, case 1.
    const topic_counts counts{{"T9", 0}, {"t0", 4}, {"a.b_c-d", 6}};
    const std::vector<member_subscription> members{
        member("日本-11", {"T9"}),
        member("ｱ-16-e49d73dd", {"t0", "a.b_c-d", "T9"}, "é-16-79c65409"),
        member("Zeta-17", {"t0", "T9"}, "consumer-0"),
        member("a-0-e2fff611", {"a.b_c-d", "t0"}),
        member("ｱ-18-1817ab8", {"T9"}, "app-1-18-732dbacf"),
        member("consumer-16-555d27da", {"t0", "T9", "a.b_c-d"}),
    };
    const auto range = run("range", counts, members);
    CHECK(range.at("日本-11").empty());
    CHECK(range.at("ｱ-16-e49d73dd") == sorted(parts("t0:1,a.b_c-d:0,a.b_c-d:1")));
    CHECK(range.at("Zeta-17") == parts("t0:0"));
    CHECK(range.at("a-0-e2fff611") == sorted(parts("t0:2,a.b_c-d:2,a.b_c-d:3")));
    CHECK(range.at("ｱ-18-1817ab8").empty());
    CHECK(range.at("consumer-16-555d27da") == sorted(parts("t0:3,a.b_c-d:4,a.b_c-d:5")));

    const auto rr = run("roundrobin", counts, members);
    CHECK(rr.at("日本-11").empty());
    CHECK(rr.at("ｱ-16-e49d73dd") == parts("a.b_c-d:0,a.b_c-d:3,t0:1"));
    CHECK(rr.at("Zeta-17") == parts("t0:0"));
    CHECK(rr.at("a-0-e2fff611") == parts("a.b_c-d:1,a.b_c-d:4,t0:2"));
    CHECK(rr.at("ｱ-18-1817ab8").empty());
    CHECK(rr.at("consumer-16-555d27da") == parts("a.b_c-d:2,a.b_c-d:5,t0:3"));
}

TEST_CASE("range: uneven topics, missing topics, members without subscriptions") {
    const auto a = run("range", {{"t0", 7}, {"t1", 2}, {"empty", 0}},
                       {member("m1", {"t0", "missing"}), member("m2", {"t0", "t1"}), member("m3", {"t0", "t1", "empty"}),
                        member("m4", {})});
    CHECK(a.at("m1") == parts("t0:0,t0:1,t0:2"));
    CHECK(a.at("m2") == parts("t0:3,t0:4,t1:0"));
    CHECK(a.at("m3") == parts("t0:5,t0:6,t1:1"));
    CHECK(a.at("m4").empty());
    CHECK(a.size() == 4);
    // More members than partitions: the last ones get none.
    const auto b = run("range", {{"t", 2}}, {member("a", {"t"}), member("b", {"t"}), member("c", {"t"})});
    CHECK(b.at("a") == parts("t:0"));
    CHECK(b.at("b") == parts("t:1"));
    CHECK(b.at("c").empty());
    CHECK(run("range", {{"t", 2}}, {}).empty());
}

TEST_CASE("roundrobin: Java's documented examples") {
    // Two members, t0 and t1 with 3 partitions each.
    const auto a = run("roundrobin", {{"t0", 3}, {"t1", 3}}, {member("C1", {"t1", "t0"}), member("C0", {"t0", "t1"})});
    CHECK(a.at("C0") == parts("t0:0,t0:2,t1:1"));
    CHECK(a.at("C1") == parts("t0:1,t1:0,t1:2"));
    // Different subscriptions: C0 [t0], C1 [t0, t1], C2 [t0, t1, t2]; t0, t1, t2 with 1, 2, 3 partitions.
    const auto b = run("roundrobin", {{"t0", 1}, {"t1", 2}, {"t2", 3}},
                       {member("C0", {"t0"}), member("C1", {"t0", "t1"}), member("C2", {"t0", "t1", "t2"})});
    CHECK(b.at("C0") == parts("t0:0"));
    CHECK(b.at("C1") == parts("t1:0"));
    CHECK(b.at("C2") == parts("t1:1,t2:0,t2:1,t2:2"));
}

TEST_CASE("roundrobin: static members first, missing and empty topics skipped") {
    const auto a = run("roundrobin", {{"a", 2}, {"b", 3}, {"e", 0}},
                       {member("m1", {"a", "b", "missing"}), member("m2", {"b", "e"}, "x"), member("m0", {})});
    // Order: m2 (static), m0, m1. a0 -> m1 (m2, m0 skipped), a1 -> m1, b0 -> m2, b1 -> m1, b2 -> m2.
    CHECK(a.at("m2") == parts("b:0,b:2"));
    CHECK(a.at("m1") == parts("a:0,a:1,b:1"));
    CHECK(a.at("m0").empty());
}

// ---------------------------------------------------------------------------
// cooperative-sticky

namespace {

// The Java rule for competing claims: the partition belongs to the only
// claimant at the highest generation claimed; none if several share it.
struct claims_view {
    std::map<topic_partition, std::vector<std::pair<std::string, std::int32_t>>> claims;

    explicit claims_view(const std::vector<member_subscription>& members) {
        for (const auto& m : members) {
            const std::set<topic_partition> owned(m.owned_partitions.begin(), m.owned_partitions.end());
            for (const auto& tp : owned) claims[tp].push_back({m.member_id, std::max(m.generation, -1)});
        }
    }
    std::optional<std::string> owner(const topic_partition& tp) const {
        const auto it = claims.find(tp);
        if (it == claims.end()) return std::nullopt;
        std::int32_t best = -2;
        for (const auto& [id, g] : it->second) best = std::max(best, g);
        std::optional<std::string> out;
        for (const auto& [id, g] : it->second) {
            if (g != best) continue;
            if (out) return std::nullopt;
            out = id;
        }
        return out;
    }
    bool claimed(const topic_partition& tp) const { return claims.contains(tp); }
};

std::set<std::string> effective_topics(const member_subscription& m, const topic_counts& counts) {
    std::set<std::string> out;
    for (const auto& t : m.topics)
        if (const auto it = counts.find(t); it != counts.end() && it->second > 0) out.insert(t);
    return out;
}

// Every partition of a topic someone subscribes to.
std::set<topic_partition> all_partitions(const topic_counts& counts, const std::vector<member_subscription>& members) {
    std::set<topic_partition> out;
    for (const auto& m : members)
        for (const auto& t : effective_topics(m, counts))
            for (std::int32_t p = 0; p < counts.at(t); ++p) out.insert({t, p});
    return out;
}

// Valid (each partition at most once, to a member subscribed to its topic,
// existing) and cooperative (to a member only if no other member claims it,
// or that member is its owner by the generation rule).
void check_valid_and_cooperative(const group_assignment& a, const topic_counts& counts,
                                 const std::vector<member_subscription>& members) {
    REQUIRE(a.size() == members.size());
    const claims_view claims(members);
    std::set<topic_partition> seen;
    for (const auto& m : members) {
        REQUIRE(a.contains(m.member_id));
        const auto topics = effective_topics(m, counts);
        for (const auto& tp : a.at(m.member_id)) {
            INFO(m.member_id << " got " << tp.to_string());
            CHECK(topics.contains(tp.topic));
            CHECK((tp.partition >= 0 && tp.partition < counts.at(tp.topic)));
            CHECK(seen.insert(tp).second);
            if (claims.claimed(tp)) CHECK(claims.owner(tp) == m.member_id);
        }
    }
}

// Balanced: nobody could take a partition from a member holding two more;
// members with the same subscriptions differ by at most one.
void check_balanced(const group_assignment& a, const topic_counts& counts,
                    const std::vector<member_subscription>& members) {
    for (const auto& x : members) {
        const auto tx = effective_topics(x, counts);
        const std::size_t nx = a.at(x.member_id).size();
        for (const auto& y : members) {
            const std::size_t ny = a.at(y.member_id).size();
            if (ny < nx + 2) continue;
            INFO(x.member_id << " has " << nx << ", " << y.member_id << " has " << ny);
            CHECK(effective_topics(y, counts) != tx);
            for (const auto& tp : a.at(y.member_id)) CHECK(!tx.contains(tp.topic));
        }
    }
}

// Members now own what `a` gave them, in the next generation.
std::vector<member_subscription> next_generation(std::vector<member_subscription> members, const group_assignment& a,
                                                 std::int32_t generation) {
    for (auto& m : members) {
        m.owned_partitions = a.at(m.member_id);
        m.generation = generation;
    }
    return members;
}

std::int32_t max_generation(const std::vector<member_subscription>& members) {
    std::int32_t g = -1;
    for (const auto& m : members) g = std::max(g, m.generation);
    return g;
}

// Everything the cooperative sticky assignor promises, for one group.
// Returns the first assignment.
group_assignment check_cooperative_sticky(const topic_counts& counts, const std::vector<member_subscription>& members,
                              std::mt19937_64& rng) {
    auto a = make_assignor("cooperative-sticky");
    const group_assignment first = a->assign(counts, members);
    INFO("first assignment:\n" << show(first));
    check_valid_and_cooperative(first, counts, members);

    // Deterministic: the same however the members and their lists are ordered.
    auto shuffled = members;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    for (auto& m : shuffled) {
        std::shuffle(m.owned_partitions.begin(), m.owned_partitions.end(), rng);
        std::shuffle(m.topics.begin(), m.topics.end(), rng);
    }
    CHECK(a->assign(counts, shuffled) == first);

    // Sticky: with identical subscriptions every member keeps at least
    // min(owned, floor(P / M)) of what it owns by the generation rule, and
    // the members allowed one more are those owning the most: as few
    // partitions move as balance allows.
    const claims_view claims(members);
    std::set<std::set<std::string>> subscriptions;
    for (const auto& m : members) subscriptions.insert(effective_topics(m, counts));
    const std::size_t total = all_partitions(counts, members).size();
    if (subscriptions.size() == 1 && !members.empty()) {
        const std::size_t min_quota = total / members.size();
        std::size_t kept_total = 0, best_total = 0;
        std::vector<std::size_t> owned_counts;
        for (const auto& m : members) {
            const auto topics = effective_topics(m, counts);
            std::set<topic_partition> owned;
            for (const auto& tp : m.owned_partitions)
                if (topics.contains(tp.topic) && tp.partition >= 0 && tp.partition < counts.at(tp.topic) &&
                    claims.owner(tp) == m.member_id)
                    owned.insert(tp);
            std::size_t kept = 0;
            for (const auto& tp : first.at(m.member_id)) kept += owned.contains(tp);
            INFO(m.member_id << " owned " << owned.size() << ", kept " << kept << ", min quota " << min_quota);
            CHECK(kept >= std::min(owned.size(), min_quota));
            kept_total += kept;
            best_total += std::min(owned.size(), min_quota);
            owned_counts.push_back(owned.size());
        }
        std::sort(owned_counts.rbegin(), owned_counts.rend());
        for (std::size_t i = 0; i < total % members.size(); ++i) best_total += owned_counts[i] > min_quota;
        CHECK(kept_total == best_total);
    }

    // The follow-up rebalance (members revoked what they lost and own what
    // they got): everything assigned exactly once, balanced, and nothing
    // handed out in the first round moves.
    const std::int32_t g2 = max_generation(members) + 1;
    const auto second_members = next_generation(members, first, g2);
    const group_assignment second = a->assign(counts, second_members);
    INFO("second assignment:\n" << show(second));
    check_valid_and_cooperative(second, counts, second_members);
    std::set<topic_partition> assigned;
    for (const auto& [id, l] : second) assigned.insert(l.begin(), l.end());
    CHECK(assigned == all_partitions(counts, members));
    check_balanced(second, counts, members);
    for (const auto& m : members) {
        const std::set<topic_partition> now(second.at(m.member_id).begin(), second.at(m.member_id).end());
        for (const auto& tp : first.at(m.member_id))
            CHECK_MESSAGE(now.contains(tp), m.member_id << " lost " << tp.to_string());
    }

    // A complete, balanced assignment is kept as it is.
    const auto third = a->assign(counts, next_generation(members, second, g2 + 1));
    CHECK(third == second);
    return first;
}

} // namespace

TEST_CASE("cooperative-sticky: a fresh group is balanced, and a stable group keeps its assignment") {
    const topic_counts counts{{"t0", 4}, {"t1", 3}};
    std::vector<member_subscription> members{member("a", {"t0", "t1"}), member("b", {"t0", "t1"}), member("c", {"t0", "t1"})};
    const auto first = run("cooperative-sticky", counts, members);
    std::size_t total = 0;
    for (const auto& [id, l] : first) {
        CHECK((l.size() == 2 || l.size() == 3));
        total += l.size();
    }
    CHECK(total == 7);
    CHECK(run("cooperative-sticky", counts, next_generation(members, first, 1)) == first);
    std::mt19937_64 rng(1);
    check_cooperative_sticky(counts, members, rng);
}

TEST_CASE("cooperative-sticky: a joining member gets partitions only after their owners revoked them") {
    const topic_counts counts{{"t", 6}};
    std::vector<member_subscription> members{owning("a", {"t"}, parts("t:0,t:1,t:2"), 5),
                                             owning("b", {"t"}, parts("t:3,t:4,t:5"), 5), member("c", {"t"})};
    const auto first = run("cooperative-sticky", counts, members);
    INFO(show(first));
    // a and b each keep two; the third of each is revoked, not yet given to c.
    CHECK(first.at("a").size() == 2);
    CHECK(first.at("b").size() == 2);
    CHECK(first.at("c").empty());
    for (const auto& tp : first.at("a")) CHECK(tp.partition <= 2);
    for (const auto& tp : first.at("b")) CHECK(tp.partition >= 3);

    const auto second = run("cooperative-sticky", counts, next_generation(members, first, 6));
    CHECK(second.at("a") == first.at("a"));
    CHECK(second.at("b") == first.at("b"));
    CHECK(second.at("c").size() == 2);
}

TEST_CASE("cooperative-sticky: leaving members' partitions go straight to the others") {
    const topic_counts counts{{"t", 6}};
    const std::vector<member_subscription> members{owning("a", {"t"}, parts("t:0,t:1"), 5),
                                                   owning("b", {"t"}, parts("t:2,t:3"), 5)};
    const auto a = run("cooperative-sticky", counts, members);
    CHECK(a.at("a").size() == 3);
    CHECK(a.at("b").size() == 3);
    CHECK(std::includes(a.at("a").begin(), a.at("a").end(), members[0].owned_partitions.begin(),
                        members[0].owned_partitions.end()));
    CHECK(std::includes(a.at("b").begin(), a.at("b").end(), members[1].owned_partitions.begin(),
                        members[1].owned_partitions.end()));
}

TEST_CASE("cooperative-sticky: competing claims follow the generations") {
    const topic_counts counts{{"t", 4}};
    // t:0 claimed by a (gen 7) and b (gen 5): a's. t:1 claimed by b and c,
    // both in gen 5: nobody's, and given to nobody this round (both must
    // revoke it first). t:2 only b's: an older generation than a's, but
    // uncontested, so b keeps it.
    const std::vector<member_subscription> members{owning("a", {"t"}, parts("t:0"), 7),
                                                   owning("b", {"t"}, parts("t:0,t:1,t:2"), 5),
                                                   owning("c", {"t"}, parts("t:1"), 5)};
    const auto a = run("cooperative-sticky", counts, members);
    INFO(show(a));
    CHECK(std::count(a.at("a").begin(), a.at("a").end(), topic_partition{"t", 0}) == 1);
    CHECK(std::count(a.at("b").begin(), a.at("b").end(), topic_partition{"t", 2}) == 1);
    for (const auto& [id, l] : a) CHECK(std::count(l.begin(), l.end(), topic_partition{"t", 1}) == 0);
    std::mt19937_64 rng(2);
    check_cooperative_sticky(counts, members, rng);
}

TEST_CASE("cooperative-sticky: a generation in the user data counts when the subscription has none") {
    // Java clients writing ConsumerProtocol v0/v1 carry the generation only
    // in CooperativeStickyAssignor's user data (an int32).
    const topic_counts counts{{"t", 2}};
    member_subscription a = owning("a", {"t"}, parts("t:0,t:1"), -1);
    a.user_data = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{9}};
    const member_subscription b = owning("b", {"t"}, parts("t:0"), 5);
    const auto first = run("cooperative-sticky", counts, {a, b});
    INFO(show(first));
    CHECK(first.at("a") == parts("t:0"));  // a's (generation 9 beats 5); a keeps one, t:1 is revoked
    CHECK(first.at("b").empty());          // not yet: a still owns t:1
    // Without it, a is in generation -1 and t:0 is b's: a keeps only t:1.
    a.user_data.clear();
    const auto second = run("cooperative-sticky", counts, {a, b});
    INFO(show(second));
    CHECK(second.at("a") == parts("t:1"));
    CHECK(second.at("b") == parts("t:0"));
}

TEST_CASE("cooperative-sticky: different subscriptions, missing topics, stale claims") {
    const topic_counts counts{{"t0", 3}, {"t1", 5}, {"t2", 0}};
    const std::vector<member_subscription> members{
        owning("a", {"t0", "missing"}, parts("t0:0,t1:0,gone:3,t0:9"), 2),  // t1 no longer subscribed
        owning("b", {"t0", "t1", "t2"}, parts("t1:1,t1:2,t1:3,t1:4"), 2),
        member("c", {"t1"}),
        member("d", {}),
    };
    const auto a = run("cooperative-sticky", counts, members);
    INFO(show(a));
    CHECK(a.at("d").empty());
    // t1:0 is a's (claimed), but a no longer takes t1: held back this round.
    for (const auto& [id, l] : a) CHECK(std::count(l.begin(), l.end(), topic_partition{"t1", 0}) == 0);
    std::mt19937_64 rng(3);
    check_cooperative_sticky(counts, members, rng);
}

TEST_CASE("cooperative-sticky: different subscriptions need exchange chains to balance") {
    // a may take only t1, c only t2, b both. Balanced: one each. Reaching it
    // from b holding t1's partition and c holding both of t2's needs a chain:
    // c gives one to b, b gives t1's to a.
    const topic_counts counts{{"t1", 1}, {"t2", 2}};
    const std::vector<member_subscription> members{
        owning("a", {"t1"}, {}, 3),
        owning("b", {"t1", "t2"}, parts("t1:0"), 3),
        owning("c", {"t2"}, parts("t2:0,t2:1"), 3),
    };
    std::mt19937_64 rng(4);
    check_cooperative_sticky(counts, members, rng);
    const auto first = run("cooperative-sticky", counts, members);
    INFO(show(first));
    const auto second = run("cooperative-sticky", counts, next_generation(members, first, 4));
    for (const auto& [id, l] : second) CHECK(l.size() == 1);
}

TEST_CASE("cooperative-sticky: no members, no topics") {
    CHECK(run("cooperative-sticky", {{"t", 3}}, {}).empty());
    const auto a = run("cooperative-sticky", {}, {member("a", {"t"}), member("b", {})});
    CHECK(a.at("a").empty());
    CHECK(a.at("b").empty());
}

namespace {

// A random group: topics (some empty or missing), members with identical or
// varied subscriptions, and owned partitions from a previous assignment,
// perturbed: members joined and left, subscriptions changed, generations
// differ, some claims conflict or name partitions that do not exist.
struct random_group {
    topic_counts counts;
    std::vector<member_subscription> members;
};

random_group make_random_group(std::mt19937_64& rng, int max_members, int max_partitions) {
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
    random_group g;
    const int topics = 1 + pick(5);
    std::vector<std::string> names;
    for (int t = 0; t < topics; ++t) {
        names.push_back("t" + std::to_string(t));
        g.counts[names.back()] = pick(8) == 0 ? 0 : 1 + pick(max_partitions);
    }
    if (pick(4) == 0) names.push_back("missing");

    auto subset = [&] {
        std::vector<std::string> out;
        for (const auto& n : names)
            if (pick(2)) out.push_back(n);
        if (out.empty() && pick(5) != 0) out.push_back(names[static_cast<std::size_t>(pick(static_cast<int>(names.size())))]);
        return out;
    };
    const bool same = pick(2) == 0;
    const auto common = subset();
    const int count = 1 + pick(max_members);
    for (int i = 0; i < count; ++i)
        g.members.push_back(member("m" + std::to_string(pick(1000)) + "-" + std::to_string(i), same ? common : subset()));

    // Ownership: an assignment of an earlier group (some of these members,
    // perhaps others' subscriptions), then noise.
    const int generation = pick(4) == 0 ? -1 : 1 + pick(20);
    std::vector<std::string> all_topics(names);
    for (auto& m : g.members) m.generation = generation;
    if (pick(5) != 0 && !g.members.empty()) {
        std::vector<member_subscription> earlier = g.members;
        earlier.erase(std::remove_if(earlier.begin(), earlier.end(), [&](const auto&) { return pick(4) == 0; }),
                      earlier.end());
        for (auto& m : earlier)
            if (pick(4) == 0) m.topics = subset();
        if (!earlier.empty()) {
            const auto before = make_assignor(pick(2) ? "range" : "roundrobin")->assign(g.counts, earlier);
            for (auto& m : g.members)
                if (const auto it = before.find(m.member_id); it != before.end()) m.owned_partitions = it->second;
        }
    }
    for (auto& m : g.members) {
        if (pick(6) == 0) m.generation = std::max(-1, generation - 1 - pick(3));  // stale member
        if (pick(6) == 0) {
            // Claims on random partitions, existing or not: conflicts.
            const int n = 1 + pick(4);
            for (int k = 0; k < n; ++k)
                m.owned_partitions.push_back({all_topics[static_cast<std::size_t>(pick(static_cast<int>(all_topics.size())))],
                                              pick(max_partitions + 2) - 1});
        }
        if (pick(10) == 0) m.generation = -1;
    }
    return g;
}

} // namespace

TEST_CASE("cooperative-sticky: properties on random groups") {
    std::mt19937_64 rng(20240611);
    constexpr int groups = 3000;
    int different = 0, held_back = 0, contested = 0;
    for (int i = 0; i < groups; ++i) {
        const random_group g = make_random_group(rng, i % 3 == 0 ? 12 : 6, i % 2 == 0 ? 4 : 12);
        std::ostringstream input;
        for (const auto& [t, n] : g.counts) input << t << "=" << n << ' ';
        input << '\n';
        for (const auto& m : g.members) {
            input << m.member_id << " gen " << m.generation << " topics";
            for (const auto& t : m.topics) input << ' ' << t;
            input << " owns";
            for (const auto& tp : m.owned_partitions) input << ' ' << tp.to_string();
            input << '\n';
        }
        INFO("group " << i << ":\n" << input.str());
        const auto first = check_cooperative_sticky(g.counts, g.members, rng);

        std::set<std::set<std::string>> subscriptions;
        for (const auto& m : g.members) subscriptions.insert(effective_topics(m, g.counts));
        different += subscriptions.size() > 1;
        std::size_t assigned = 0;
        for (const auto& [id, l] : first) assigned += l.size();
        held_back += assigned < all_partitions(g.counts, g.members).size();
        const claims_view claims(g.members);
        contested += std::any_of(claims.claims.begin(), claims.claims.end(),
                                 [](const auto& c) { return c.second.size() > 1; });
    }
    MESSAGE(groups << " random groups: " << different << " with different subscriptions, " << held_back
                   << " with partitions held back for a follow-up rebalance, " << contested
                   << " with partitions claimed by several members");
    CHECK(different > groups / 4);
    CHECK(held_back > groups / 4);
    CHECK(contested > groups / 20);
}

TEST_CASE("cooperative-sticky: a large group with different subscriptions") {
    std::mt19937_64 rng(7);
    topic_counts counts;
    for (int t = 0; t < 40; ++t) counts["topic-" + std::to_string(t)] = 1 + static_cast<int>(rng() % 40);
    std::vector<member_subscription> members;
    for (int i = 0; i < 150; ++i) {
        std::vector<std::string> topics;
        for (const auto& [t, n] : counts)
            if (rng() % 3 == 0) topics.push_back(t);
        members.push_back(member("member-" + std::to_string(i), topics));
    }
    const auto start = std::chrono::steady_clock::now();
    check_cooperative_sticky(counts, members, rng);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("150 members, 40 topics, " << all_partitions(counts, members).size() << " partitions: " << ms
                                       << " ms for 4 assignments and the checks");
}
