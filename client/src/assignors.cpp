// The classic group protocol's partition assignors; see assignor.hpp.
//
// range and roundrobin give exactly the Java client's assignment (4.4:
// org.apache.kafka.clients.consumer.RangeAssignor / RoundRobinAssignor, as
// run by ConsumerPartitionAssignor.assign), checked live against it by
// tests/integration/test_assignors_java.cpp. Members are ordered as Java's
// AbstractPartitionAssignor.MemberInfo orders them: members with a
// group.instance.id first, by that id, then the others by member id (Java
// String order).
//
// Racks: Java's RangeAssignor (and the sticky ones) become rack-aware only
// when both the consumers' racks and the partitions' replica racks are
// known. This interface carries partition counts, not replica placement,
// which is Java's own assign(Map<String, Integer>, ...) case: no partition
// racks, so racks are ignored there too. kwire ignores member racks.
//
// cooperative-sticky is kwire's own algorithm with the properties of Java's
// CooperativeStickyAssignor (not its exact choices):
// - ownership: a member's owned partitions count if the topic still exists;
//   its generation is the subscription's, or (subscriptions before v2, from
//   older Java clients) the int32 at the start of its user data, as Java reads it;
//   a partition claimed by several members belongs to the one with the
//   highest generation; claimed by several at that same highest generation,
//   it belongs to none (Java invalidates such claims), and a claim from an
//   older generation than another claim on the same partition is ignored.
//   The owner keeps it if it still subscribes to the topic.
// - balance: when every member subscribes to the same (existing) topics,
//   counts differ by at most one, and the members allowed one more are those
//   that own the most (so the fewest partitions move). Otherwise the
//   assignment minimises the sum of squared counts over what each member may
//   take, found by moving partitions along exchange paths until no member can
//   gain one from a member holding two more, directly or through others;
//   members with identical subscriptions then differ by at most one.
// - stickiness: owned partitions stay unless balance needs them elsewhere;
//   partitions nobody owns are placed (and moved) first.
// - cooperative (KIP-429): a partition goes to a member in this assignment
//   only if no member claims it or that member is its owner. Otherwise it is
//   left out: the old owner, not finding it in its assignment, revokes it and
//   rejoins, and the next rebalance (where nobody claims it) hands it over.
//   After that follow-up rebalance every partition is assigned, and the
//   follow-up moves nothing else (both steps aim at equally balanced
//   assignments, so the second keeps everything the first handed out).
// - deterministic: the output depends on the members' contents, not on their
//   order in the input.
#include "kwire/assignor.hpp"
#include "kwire/consumer_protocol.hpp"

#include <algorithm>
#include <deque>
#include <numeric>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace kwire {

namespace {

using detail::java_string_compare;

// Members by id, the first of any that share one.
std::vector<const member_subscription*> unique_members(const std::vector<member_subscription>& members) {
    std::vector<const member_subscription*> out;
    std::unordered_set<std::string> seen;
    for (const auto& m : members)
        if (seen.insert(m.member_id).second) out.push_back(&m);
    return out;
}

// Java's AbstractPartitionAssignor.MemberInfo.compareTo (ties, which Java
// leaves to a stable sort of a HashMap's order, by member id).
bool member_info_less(const member_subscription* a, const member_subscription* b) {
    if (a->group_instance_id && b->group_instance_id) {
        const int c = java_string_compare(*a->group_instance_id, *b->group_instance_id);
        if (c != 0) return c < 0;
    } else if (a->group_instance_id) {
        return true;
    } else if (b->group_instance_id) {
        return false;
    }
    return java_string_compare(a->member_id, b->member_id) < 0;
}

std::int32_t partition_count(const std::map<std::string, std::int32_t>& partitions_per_topic, const std::string& topic) {
    const auto it = partitions_per_topic.find(topic);
    return it == partitions_per_topic.end() ? 0 : std::max<std::int32_t>(it->second, 0);
}

group_assignment empty_assignment(const std::vector<const member_subscription*>& members) {
    group_assignment out;
    for (const auto* m : members) out[m->member_id];
    return out;
}

// ---------------------------------------------------------------------------
// range

class range_assignor final : public assignor {
public:
    std::string_view name() const noexcept override { return "range"; }
    rebalance_protocol protocol() const noexcept override { return rebalance_protocol::eager; }

    group_assignment assign(const std::map<std::string, std::int32_t>& partitions_per_topic,
                            const std::vector<member_subscription>& members_in) const override {
        const auto members = unique_members(members_in);
        group_assignment out = empty_assignment(members);

        std::map<std::string, std::vector<const member_subscription*>> per_topic;
        for (const auto* m : members) {
            std::vector<std::string> topics = m->topics;
            std::sort(topics.begin(), topics.end());
            topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
            for (auto& t : topics) per_topic[std::move(t)].push_back(m);
        }

        for (auto& [topic, consumers] : per_topic) {
            const std::int32_t n = partition_count(partitions_per_topic, topic);
            if (n == 0) continue;
            std::sort(consumers.begin(), consumers.end(), member_info_less);
            const auto k = static_cast<std::int32_t>(consumers.size());
            const std::int32_t per = n / k, extra = n % k;
            for (std::int32_t i = 0; i < k; ++i) {
                const std::int32_t start = per * i + std::min(i, extra);
                const std::int32_t length = per + (i < extra ? 1 : 0);
                auto& list = out[consumers[static_cast<std::size_t>(i)]->member_id];
                for (std::int32_t p = start; p < start + length; ++p) list.push_back({topic, p});
            }
        }
        for (auto& [id, list] : out) std::sort(list.begin(), list.end());
        return out;
    }
};

// ---------------------------------------------------------------------------
// roundrobin

class roundrobin_assignor final : public assignor {
public:
    std::string_view name() const noexcept override { return "roundrobin"; }
    rebalance_protocol protocol() const noexcept override { return rebalance_protocol::eager; }

    group_assignment assign(const std::map<std::string, std::int32_t>& partitions_per_topic,
                            const std::vector<member_subscription>& members_in) const override {
        auto members = unique_members(members_in);
        group_assignment out = empty_assignment(members);
        if (members.empty()) return out;
        std::sort(members.begin(), members.end(), member_info_less);

        std::vector<std::unordered_set<std::string>> subscribed;
        std::vector<std::string> topics;
        for (const auto* m : members) {
            subscribed.emplace_back(m->topics.begin(), m->topics.end());
            topics.insert(topics.end(), m->topics.begin(), m->topics.end());
        }
        std::sort(topics.begin(), topics.end(),
                  [](const std::string& a, const std::string& b) { return java_string_compare(a, b) < 0; });
        topics.erase(std::unique(topics.begin(), topics.end()), topics.end());

        // Java's CircularIterator over the sorted members: skip those not
        // subscribed to the partition's topic, give it to the next one.
        std::size_t next = 0;
        for (const auto& topic : topics) {
            const std::int32_t n = partition_count(partitions_per_topic, topic);
            for (std::int32_t p = 0; p < n; ++p) {
                while (!subscribed[next].contains(topic)) next = (next + 1) % members.size();
                out[members[next]->member_id].push_back({topic, p});
                next = (next + 1) % members.size();
            }
        }
        return out;
    }
};

// ---------------------------------------------------------------------------
// cooperative-sticky

// One run of the cooperative sticky assignment; partitions are numbered
// 0..P-1, topic by topic in name order.
class sticky_run {
public:
    sticky_run(const std::map<std::string, std::int32_t>& partitions_per_topic,
               const std::vector<member_subscription>& members_in) {
        members_ = unique_members(members_in);
        std::sort(members_.begin(), members_.end(),
                  [](const auto* a, const auto* b) { return a->member_id < b->member_id; });
        index_topics(partitions_per_topic);
        resolve_ownership();
    }

    group_assignment run() {
        group_assignment out = empty_assignment(members_);
        if (members_.empty()) return out;
        if (homogeneous()) assign_homogeneous();
        else assign_general();

        for (int pid = 0; pid < partitions_; ++pid) {
            const int h = holder_[static_cast<std::size_t>(pid)];
            if (h < 0) continue;
            // Cooperative: never to a new owner while someone still claims it.
            if (claimed_[static_cast<std::size_t>(pid)] && owner_[static_cast<std::size_t>(pid)] != h) continue;
            out[members_[static_cast<std::size_t>(h)]->member_id].push_back(partition_of(pid));
        }
        return out;
    }

private:
    // -- input ---------------------------------------------------------------

    void index_topics(const std::map<std::string, std::int32_t>& partitions_per_topic) {
        std::set<std::string> wanted;
        for (const auto* m : members_)
            for (const auto& t : m->topics)
                if (partition_count(partitions_per_topic, t) > 0) wanted.insert(t);
        for (const auto& t : wanted) {
            topic_index_.emplace(t, static_cast<int>(topics_.size()));
            topics_.push_back(t);
            first_.push_back(partitions_);
            partitions_ += partition_count(partitions_per_topic, t);
        }
        first_.push_back(partitions_);

        subs_.resize(members_.size());
        subscribers_.resize(topics_.size());
        for (std::size_t i = 0; i < members_.size(); ++i) {
            std::set<int> s;
            for (const auto& t : members_[i]->topics)
                if (const auto it = topic_index_.find(t); it != topic_index_.end()) s.insert(it->second);
            subs_[i].assign(s.begin(), s.end());
            for (int t : s) subscribers_[static_cast<std::size_t>(t)].push_back(static_cast<int>(i));
        }
    }

    int topic_of(int pid) const {
        return static_cast<int>(std::upper_bound(first_.begin(), first_.end(), pid) - first_.begin()) - 1;
    }
    topic_partition partition_of(int pid) const {
        const int t = topic_of(pid);
        return {topics_[static_cast<std::size_t>(t)], pid - first_[static_cast<std::size_t>(t)]};
    }
    bool subscribes(int member, int topic) const {
        const auto& s = subs_[static_cast<std::size_t>(member)];
        return std::binary_search(s.begin(), s.end(), topic);
    }

    // A member's generation: the subscription's (v2+), else, as Java's
    // CooperativeStickyAssignor.memberData, the int32 its user data starts
    // with (where Java clients before ConsumerProtocol v2 put it), else -1.
    static std::int32_t generation_of(const member_subscription& m) {
        if (m.generation >= 0) return m.generation;
        if (m.user_data.size() < 4) return -1;
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 4; ++k) v = (v << 8) | std::to_integer<std::uint32_t>(m.user_data[k]);
        return std::max<std::int32_t>(static_cast<std::int32_t>(v), -1);
    }

    // The owner of each partition: the only claimant at the highest
    // generation claimed, else none. Claims on partitions that no longer
    // exist, or of topics nobody subscribes to, do not count.
    void resolve_ownership() {
        const auto n = static_cast<std::size_t>(partitions_);
        owner_.assign(n, -1);
        claimed_.assign(n, false);
        holder_.assign(n, -1);
        std::vector<std::int32_t> best(n, 0);
        for (std::size_t i = 0; i < members_.size(); ++i) {
            const std::int32_t gen = generation_of(*members_[i]);
            std::set<int> claims;
            for (const auto& tp : members_[i]->owned_partitions) {
                const auto it = topic_index_.find(tp.topic);
                if (it == topic_index_.end()) continue;
                const int t = it->second;
                if (tp.partition < 0 || tp.partition >= first_[static_cast<std::size_t>(t) + 1] - first_[static_cast<std::size_t>(t)])
                    continue;
                claims.insert(first_[static_cast<std::size_t>(t)] + tp.partition);
            }
            for (int pid : claims) {
                const auto p = static_cast<std::size_t>(pid);
                if (!claimed_[p] || gen > best[p]) {
                    claimed_[p] = true;
                    best[p] = gen;
                    owner_[p] = static_cast<int>(i);
                } else if (gen == best[p]) {
                    owner_[p] = -1;
                }
            }
        }
        for (std::size_t p = 0; p < n; ++p)
            if (owner_[p] >= 0 && subscribes(owner_[p], topic_of(static_cast<int>(p)))) holder_[p] = owner_[p];
    }

    bool homogeneous() const {
        return std::all_of(subs_.begin(), subs_.end(), [&](const auto& s) { return s == subs_.front(); });
    }

    // -- same subscriptions: quotas --------------------------------------------

    void assign_homogeneous() {
        const auto m = static_cast<int>(members_.size());
        const int min_quota = partitions_ / m, extra = partitions_ % m;

        std::vector<std::vector<int>> owned(members_.size());
        for (int pid = 0; pid < partitions_; ++pid)
            if (holder_[static_cast<std::size_t>(pid)] >= 0)
                owned[static_cast<std::size_t>(holder_[static_cast<std::size_t>(pid)])].push_back(pid);

        // The `extra` members allowed min_quota + 1: those that own the most.
        std::vector<int> rank(members_.size());
        std::iota(rank.begin(), rank.end(), 0);
        std::stable_sort(rank.begin(), rank.end(), [&](int a, int b) {
            return owned[static_cast<std::size_t>(a)].size() > owned[static_cast<std::size_t>(b)].size();
        });
        std::vector<int> quota(members_.size(), min_quota);
        for (int r = 0; r < extra; ++r) quota[static_cast<std::size_t>(rank[static_cast<std::size_t>(r)])] = min_quota + 1;

        // Keep owned partitions up to the quota (lowest partition numbers
        // first, as Java), release the rest.
        std::vector<int> count(members_.size(), 0);
        for (std::size_t i = 0; i < members_.size(); ++i) {
            auto& list = owned[i];
            std::sort(list.begin(), list.end(), [&](int a, int b) {
                const int pa = a - first_[static_cast<std::size_t>(topic_of(a))];
                const int pb = b - first_[static_cast<std::size_t>(topic_of(b))];
                return pa != pb ? pa < pb : a < b;
            });
            for (std::size_t k = 0; k < list.size(); ++k) {
                if (static_cast<int>(k) < quota[i]) ++count[i];
                else holder_[static_cast<std::size_t>(list[k])] = -1;
            }
        }

        // Fill the members below their quota in turn.
        std::size_t next = 0;
        for (int pid = 0; pid < partitions_; ++pid) {
            if (holder_[static_cast<std::size_t>(pid)] >= 0) continue;
            while (count[next] >= quota[next]) next = (next + 1) % members_.size();
            holder_[static_cast<std::size_t>(pid)] = static_cast<int>(next);
            ++count[next];
            next = (next + 1) % members_.size();
        }
    }

    // -- different subscriptions: exchange paths ----------------------------------

    void assign_general() {
        const std::size_t m = members_.size();
        count_.assign(m, 0);
        fresh_.assign(m, {});
        kept_.assign(m, {});
        for (int pid = 0; pid < partitions_; ++pid) {
            const int h = holder_[static_cast<std::size_t>(pid)];
            if (h >= 0) place(pid, h, false);
        }

        // Unowned partitions, those with the fewest possible members first,
        // each to the least loaded member that may take it.
        std::vector<int> loose;
        for (int pid = 0; pid < partitions_; ++pid)
            if (holder_[static_cast<std::size_t>(pid)] < 0) loose.push_back(pid);
        std::stable_sort(loose.begin(), loose.end(), [&](int a, int b) {
            return subscribers_[static_cast<std::size_t>(topic_of(a))].size() <
                   subscribers_[static_cast<std::size_t>(topic_of(b))].size();
        });
        for (int pid : loose) {
            const auto& candidates = subscribers_[static_cast<std::size_t>(topic_of(pid))];
            int best = candidates.front();
            for (int c : candidates)
                if (count_[static_cast<std::size_t>(c)] < count_[static_cast<std::size_t>(best)]) best = c;
            place(pid, best, true);
        }

        // Balance moving only partitions placed in this run, then (if that
        // is not enough) owned ones too.
        balance(false);
        balance(true);
    }

    void place(int pid, int member, bool fresh) {
        holder_[static_cast<std::size_t>(pid)] = member;
        ++count_[static_cast<std::size_t>(member)];
        auto& sets = fresh ? fresh_ : kept_;
        sets[static_cast<std::size_t>(member)][topic_of(pid)].insert(pid);
    }

    // A partition of `topic` that `member` may give away: one placed in this
    // run if it has any, else (when allowed) one it kept. -1 if none.
    int movable(int member, int topic, bool owned_too) const {
        for (int pass = 0; pass < (owned_too ? 2 : 1); ++pass) {
            const auto& sets = pass == 0 ? fresh_ : kept_;
            const auto& by_topic = sets[static_cast<std::size_t>(member)];
            if (const auto it = by_topic.find(topic); it != by_topic.end() && !it->second.empty())
                return *it->second.rbegin();
        }
        return -1;
    }

    // Moves a partition; at its new member it counts as placed in this run.
    void move(int pid, int from, int to) {
        const int t = topic_of(pid);
        for (auto* sets : {&fresh_, &kept_}) {
            auto& by_topic = (*sets)[static_cast<std::size_t>(from)];
            if (auto it = by_topic.find(t); it != by_topic.end() && it->second.erase(pid)) {
                if (it->second.empty()) by_topic.erase(it);
                break;
            }
        }
        --count_[static_cast<std::size_t>(from)];
        place(pid, to, true);
    }

    // Until no member X can gain a partition, directly or along a chain of
    // members each passing one on, from a member holding at least two more
    // than X. Each step lowers the sum of squared counts, so this ends; when
    // it does, that sum is as low as the subscriptions allow (for counts of a
    // bipartite assignment, no improving exchange means optimal).
    void balance(bool owned_too) {
        const std::size_t m = members_.size();
        std::vector<int> parent(m), via(m);
        std::vector<char> seen(m);
        for (;;) {
            std::vector<int> order(m);
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
                return count_[static_cast<std::size_t>(a)] < count_[static_cast<std::size_t>(b)];
            });
            const int most = count_[static_cast<std::size_t>(order.back())];
            bool improved = false;
            for (int x : order) {
                if (count_[static_cast<std::size_t>(x)] + 2 > most) break;
                std::fill(seen.begin(), seen.end(), 0);
                seen[static_cast<std::size_t>(x)] = 1;
                std::deque<int> queue{x};
                int found = -1;
                while (!queue.empty() && found < 0) {
                    const int u = queue.front();
                    queue.pop_front();
                    for (int t : subs_[static_cast<std::size_t>(u)]) {
                        for (int v : subscribers_[static_cast<std::size_t>(t)]) {
                            if (seen[static_cast<std::size_t>(v)]) continue;
                            const int pid = movable(v, t, owned_too);
                            if (pid < 0) continue;
                            seen[static_cast<std::size_t>(v)] = 1;
                            parent[static_cast<std::size_t>(v)] = u;
                            via[static_cast<std::size_t>(v)] = pid;
                            if (count_[static_cast<std::size_t>(v)] >= count_[static_cast<std::size_t>(x)] + 2) {
                                found = v;
                                break;
                            }
                            queue.push_back(v);
                        }
                        if (found >= 0) break;
                    }
                }
                if (found < 0) continue;
                // Shift one partition along the path, from `found` back to x.
                for (int v = found; v != x; v = parent[static_cast<std::size_t>(v)])
                    move(via[static_cast<std::size_t>(v)], v, parent[static_cast<std::size_t>(v)]);
                improved = true;
                break;
            }
            if (!improved) return;
        }
    }

    std::vector<const member_subscription*> members_;  // sorted by member id
    std::vector<std::string> topics_;                   // subscribed, existing, by name
    std::unordered_map<std::string, int> topic_index_;
    std::vector<int> first_;                            // first partition id of each topic, then P
    int partitions_ = 0;
    std::vector<std::vector<int>> subs_;                // member -> sorted topic indices
    std::vector<std::vector<int>> subscribers_;         // topic -> members, ascending

    std::vector<int> owner_;    // partition -> owning member, -1 if none
    std::vector<bool> claimed_; // partition -> some member claims it
    std::vector<int> holder_;   // partition -> member in the target assignment, -1 if none

    // assign_general's state: per member, count and the partitions it holds
    // by topic, split into those placed in this run and those it kept.
    std::vector<int> count_;
    std::vector<std::map<int, std::set<int>>> fresh_, kept_;
};

class cooperative_sticky_assignor final : public assignor {
public:
    std::string_view name() const noexcept override { return "cooperative-sticky"; }
    rebalance_protocol protocol() const noexcept override { return rebalance_protocol::cooperative; }

    group_assignment assign(const std::map<std::string, std::int32_t>& partitions_per_topic,
                            const std::vector<member_subscription>& members) const override {
        return sticky_run(partitions_per_topic, members).run();
    }
};

} // namespace

std::unique_ptr<assignor> make_assignor(std::string_view name) {
    if (name == "range" || name == "org.apache.kafka.clients.consumer.RangeAssignor")
        return std::make_unique<range_assignor>();
    if (name == "roundrobin" || name == "org.apache.kafka.clients.consumer.RoundRobinAssignor")
        return std::make_unique<roundrobin_assignor>();
    if (name == "cooperative-sticky" || name == "org.apache.kafka.clients.consumer.CooperativeStickyAssignor")
        return std::make_unique<cooperative_sticky_assignor>();
    return nullptr;
}

} // namespace kwire
