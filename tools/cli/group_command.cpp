// kwire group list|describe|offsets: consumer groups through kwire::admin,
// as human-readable tables or --json.
#include "cli.hpp"
#include "json.hpp"

#include "kwire/admin.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace kwire::cli {
namespace {

void print_help() {
    std::cout <<
        "usage: kwire group list     -b HOST:PORT[,...]\n"
        "       kwire group describe -b HOST:PORT[,...] -g GROUP [-g GROUP]...\n"
        "       kwire group offsets  -b HOST:PORT[,...] -g GROUP\n"
        "\n"
        "Lists consumer groups (asking every broker), describes groups (state, protocol,\n"
        "members with their client ids, hosts and assigned partitions), and shows a\n"
        "group's committed offsets with each partition's end offset and lag. Groups\n"
        "may also be named after the options instead of with -g.\n"
        "\n"
        "  -g, --group GROUP    the group (repeatable for describe)\n"
        "  --timeout MS         give up after MS milliseconds (default 30000)\n"
        "  --json               one JSON object on stdout\n"
        "\n"
        "offsets lists every partition the group has committed an offset for, and every\n"
        "partition a member owns: COMMITTED is the next offset the group reads, END the\n"
        "partition's end offset (high watermark), LAG their difference; '-' where there\n"
        "is none.\n"
        "\n"
        "exit status: 0 success; 1 an unknown group, or the brokers could not be\n"
        "reached; 2 bad usage or configuration\n";
}

std::string or_dash(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "-"; }
std::string or_null(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "null"; }
std::string text_or_dash(const std::string& s) { return s.empty() ? "-" : s; }

// "t:0,1,2 u:0" (partitions grouped by topic).
std::string compact(const std::vector<topic_partition>& parts) {
    std::map<std::string, std::vector<std::int32_t>> by_topic;
    for (const auto& tp : parts) by_topic[tp.topic].push_back(tp.partition);
    std::string out;
    for (auto& [topic, ps] : by_topic) {
        std::sort(ps.begin(), ps.end());
        out += (out.empty() ? "" : " ") + topic + ":";
        for (std::size_t i = 0; i < ps.size(); ++i) out += (i ? "," : "") + std::to_string(ps[i]);
    }
    return out.empty() ? "-" : out;
}

std::string json_partitions(const std::vector<topic_partition>& parts) {
    std::string out = "[";
    for (std::size_t i = 0; i < parts.size(); ++i)
        out += std::string(i ? "," : "") + "{\"topic\":" + json_quote(parts[i].topic) +
               ",\"partition\":" + std::to_string(parts[i].partition) + "}";
    return out + "]";
}

std::string json_strings(const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json_quote(v[i]);
    return out + "]";
}

int list(admin& adm, std::chrono::milliseconds timeout, bool json) {
    const auto groups = adm.list_groups(timeout);
    if (json) {
        std::ostringstream o;
        o << "{\"groups\":[";
        for (std::size_t i = 0; i < groups.size(); ++i) {
            const auto& g = groups[i];
            o << (i ? "," : "") << "{\"group_id\":" << json_quote(g.group_id)
              << ",\"protocol_type\":" << json_quote(g.protocol_type) << ",\"state\":" << json_quote(g.state)
              << ",\"type\":" << json_quote(g.type) << "}";
        }
        o << "]}";
        std::cout << o.str() << "\n";
        return exit_ok;
    }
    std::vector<std::vector<std::string>> rows{{"GROUP", "PROTOCOL-TYPE", "STATE", "TYPE"}};
    for (const auto& g : groups)
        rows.push_back({g.group_id, text_or_dash(g.protocol_type), text_or_dash(g.state), text_or_dash(g.type)});
    print_table(std::cout, rows);
    return exit_ok;
}

int describe(admin& adm, const std::vector<std::string>& group_ids, std::chrono::milliseconds timeout, bool json) {
    const auto groups = adm.describe_groups(group_ids, timeout);
    bool ok = true;
    std::ostringstream o;
    o << "{\"groups\":[";
    bool first = true;
    for (const auto& g : groups) {
        if (g.error) {
            ok = false;
            std::cerr << "kwire group describe: group '" << g.group_id << "': " << g.error.message();
            if (!g.error_message.empty()) std::cerr << " (" << g.error_message << ")";
            std::cerr << "\n";
            continue;
        }
        if (json) {
            o << (first ? "" : ",") << "{\"group_id\":" << json_quote(g.group_id) << ",\"state\":" << json_quote(g.state)
              << ",\"protocol_type\":" << json_quote(g.protocol_type) << ",\"protocol\":" << json_quote(g.protocol)
              << ",\"coordinator\":" << g.coordinator << ",\"members\":[";
            for (std::size_t i = 0; i < g.members.size(); ++i) {
                const auto& m = g.members[i];
                o << (i ? "," : "") << "{\"member_id\":" << json_quote(m.member_id) << ",\"group_instance_id\":"
                  << (m.group_instance_id ? json_quote(*m.group_instance_id) : "null")
                  << ",\"client_id\":" << json_quote(m.client_id) << ",\"host\":" << json_quote(m.client_host)
                  << ",\"subscription\":" << json_strings(m.subscribed_topics)
                  << ",\"assignment\":" << json_partitions(m.assignment) << "}";
            }
            o << "]}";
            first = false;
            continue;
        }
        if (!first) std::cout << "\n";
        first = false;
        std::cout << "Group: " << g.group_id << "\n"
                  << "Coordinator: broker " << g.coordinator << "\n"
                  << "State: " << g.state << "\n"
                  << "Protocol type: " << text_or_dash(g.protocol_type) << "\n"
                  << "Protocol: " << text_or_dash(g.protocol) << "\n"
                  << "Members: " << g.members.size() << "\n";
        if (g.members.empty()) continue;
        std::vector<std::vector<std::string>> rows{{"MEMBER-ID", "INSTANCE-ID", "CLIENT-ID", "HOST", "ASSIGNMENT"}};
        for (const auto& m : g.members)
            rows.push_back({m.member_id, m.group_instance_id.value_or("-"), m.client_id, m.client_host,
                            compact(m.assignment)});
        print_table(std::cout, rows);
    }
    o << "]}";
    if (json) std::cout << o.str() << "\n";
    return ok ? exit_ok : exit_failure;
}

int offsets(admin& adm, const std::string& group, std::chrono::milliseconds timeout, bool json) {
    const auto parts = adm.list_group_offsets(group, timeout);
    if (json) {
        std::ostringstream o;
        o << "{\"group_id\":" << json_quote(group) << ",\"partitions\":[";
        for (std::size_t i = 0; i < parts.size(); ++i) {
            const auto& p = parts[i];
            o << (i ? "," : "") << "{\"topic\":" << json_quote(p.partition.topic)
              << ",\"partition\":" << p.partition.partition << ",\"committed_offset\":" << or_null(p.committed_offset)
              << ",\"end_offset\":" << or_null(p.end_offset) << ",\"lag\":" << or_null(p.lag)
              << ",\"metadata\":" << json_quote(p.metadata)
              << ",\"member_id\":" << (p.member_id.empty() ? "null" : json_quote(p.member_id))
              << ",\"client_id\":" << (p.member_id.empty() ? "null" : json_quote(p.client_id))
              << ",\"host\":" << (p.member_id.empty() ? "null" : json_quote(p.client_host)) << "}";
        }
        o << "]}";
        std::cout << o.str() << "\n";
        return exit_ok;
    }
    if (parts.empty()) {
        std::cout << "Group " << group << " has no committed offsets and no assigned partitions\n";
        return exit_ok;
    }
    std::vector<std::vector<std::string>> rows{
        {"TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER-ID", "CLIENT-ID", "HOST"}};
    for (const auto& p : parts)
        rows.push_back({p.partition.topic, std::to_string(p.partition.partition), or_dash(p.committed_offset),
                        or_dash(p.end_offset), or_dash(p.lag), text_or_dash(p.member_id), text_or_dash(p.client_id),
                        text_or_dash(p.client_host)});
    print_table(std::cout, rows);
    return exit_ok;
}

} // namespace

int run_group(const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "-h" || args[0] == "--help") {
        print_help();
        return args.empty() ? exit_usage : exit_ok;
    }
    std::vector<std::string> groups;
    std::chrono::milliseconds timeout{30'000};
    auto opts = parse_common(args, {print_help}, [&](const std::string& flag, option_value& v) {
        if (flag == "-g" || flag == "--group") {
            groups.push_back(v.need("a group id"));
        } else if (flag == "--timeout") {
            timeout = parse_timeout(flag, v.need("milliseconds"));
        } else {
            return false;
        }
        return true;
    });
    if (opts.help) return exit_ok;
    // The action is the first word that is not an option: `kwire group -b B list` works too.
    if (opts.positional.empty()) throw usage_error("no action given (see kwire group --help)");
    const std::string action = opts.positional.front();
    opts.positional.erase(opts.positional.begin());
    if (action != "list" && action != "describe" && action != "offsets")
        throw usage_error("unknown action '" + action + "' (there are: list, describe, offsets)");
    groups.insert(groups.end(), opts.positional.begin(), opts.positional.end());
    if (action == "list" && !groups.empty()) throw usage_error("list takes no group");
    if (action != "list" && groups.empty()) throw usage_error(action + " needs a group: -g GROUP");
    if (action == "offsets" && groups.size() > 1) throw usage_error("offsets shows one group at a time");
    if (!opts.cfg.get("bootstrap.servers")) throw usage_error("no brokers given: use -b HOST:PORT");

    admin adm(opts.cfg, stderr_log(opts.cfg));
    if (action == "list") return list(adm, timeout, opts.json);
    if (action == "describe") return describe(adm, groups, timeout, opts.json);
    return offsets(adm, groups.front(), timeout, opts.json);
}

} // namespace kwire::cli
