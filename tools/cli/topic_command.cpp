// kwire topic create|delete|describe|list: topics through kwire::admin, as
// human-readable tables or --json.
#include "cli.hpp"
#include "json.hpp"

#include "kwire/admin.hpp"
#include "kwire/proto/kafka_error.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace kwire::cli {

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (widths.size() <= i) widths.push_back(0);
            widths[i] = std::max(widths[i], row[i].size());
        }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
        }
        out << line << "\n";
    }
}

std::string error_name(const std::error_code& ec) {
    if (!ec) return "";
    if (ec.category() == proto::kafka_category()) {
        const auto name = proto::kafka_error_name(static_cast<std::int16_t>(ec.value()));
        if (!name.empty()) return std::string(name);
    }
    return ec.message();
}

std::chrono::milliseconds parse_timeout(const std::string& flag, const std::string& value) {
    long long ms = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec != std::errc{} || end != value.data() + value.size() || ms < 1)
        throw usage_error(flag + " needs a time in milliseconds (1 or more), got '" + value + "'");
    return std::chrono::milliseconds(ms);
}

namespace {

void print_help() {
    std::cout <<
        "usage: kwire topic create   -b HOST:PORT[,...] -t TOPIC [--partitions N] [--replication-factor N]\n"
        "                            [--config key=value]... [--validate-only]\n"
        "       kwire topic delete   -b HOST:PORT[,...] -t TOPIC [-t TOPIC]...\n"
        "       kwire topic describe -b HOST:PORT[,...] -t TOPIC [-t TOPIC]... [--all-configs]\n"
        "       kwire topic list     -b HOST:PORT[,...]\n"
        "\n"
        "Creates, deletes, describes and lists topics. Topics may also be named after\n"
        "the options instead of with -t.\n"
        "\n"
        "  -t, --topic TOPIC            the topic (repeatable for delete and describe)\n"
        "  --partitions N               create: number of partitions (default: the broker's\n"
        "                               num.partitions)\n"
        "  --replication-factor N       create: copies of each partition (default: the\n"
        "                               broker's default.replication.factor)\n"
        "  --config key=value           create: a topic config, e.g. retention.ms=86400000\n"
        "                               (repeatable)\n"
        "  --validate-only              create: let the broker check the request, create nothing\n"
        "  --all-configs                describe: every config, not only those set on the\n"
        "                               topic or the broker (sensitive values are never shown)\n"
        "  --timeout MS                 give up after MS milliseconds (default 30000)\n"
        "  --json                       one JSON object on stdout\n"
        "\n"
        "describe shows each partition's leader, replicas and in-sync replicas, then the\n"
        "topic's configs with where each value comes from; list shows every topic,\n"
        "internal ones marked.\n"
        "\n"
        "exit status: 0 success; 1 the broker refused (e.g. TOPIC_ALREADY_EXISTS, an\n"
        "unknown topic) or could not be reached; 2 bad usage or configuration\n";
}

std::int32_t parse_up_to(const std::string& flag, const std::string& value, std::int32_t max) {
    std::int32_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc{} || end != value.data() + value.size() || n < 1 || n > max)
        throw usage_error(flag + " needs a number from 1 to " + std::to_string(max) + ", got '" + value + "'");
    return n;
}

std::string json_ints(const std::vector<std::int32_t>& v) { return "[" + join_ints(v) + "]"; }

std::string json_error(const std::error_code& ec) { return ec ? json_quote(error_name(ec)) : "null"; }

struct topic_args {
    std::vector<std::string> topics;
    std::int32_t partitions = -1;
    std::int16_t replication_factor = -1;
    std::map<std::string, std::string> configs;
    bool validate_only = false;
    bool all_configs = false;
    std::chrono::milliseconds timeout{30'000};
};

// Prints each outcome; true when all succeeded.
bool report(const std::string& verb, const std::vector<topic_outcome>& outcomes, bool json, const topic_args& a) {
    bool ok = true;
    std::ostringstream o;
    o << "{\"topics\":[";
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        const auto& r = outcomes[i];
        if (r.error) {
            ok = false;
            std::cerr << "kwire topic " << verb << ": " << r.describe() << "\n";
        } else if (!json) {
            if (verb == "create") {
                std::cout << (a.validate_only ? "Valid: topic " : "Created topic ") << r.name;
                if (a.partitions > 0) std::cout << " with " << a.partitions << " partition" << (a.partitions == 1 ? "" : "s");
                if (a.replication_factor > 0) std::cout << ", replication factor " << a.replication_factor;
                std::cout << "\n";
            } else {
                std::cout << "Deleted topic " << r.name << "\n";
            }
        }
        o << (i ? "," : "") << "{\"name\":" << json_quote(r.name) << ",\"error\":" << json_error(r.error)
          << ",\"error_code\":" << (r.error && r.error.category() == proto::kafka_category() ? r.error.value() : 0)
          << ",\"message\":" << (r.error_message.empty() ? "null" : json_quote(r.error_message)) << "}";
    }
    o << "]}";
    if (json) std::cout << o.str() << "\n";
    return ok;
}

bool shown_by_default(const config_entry& c) {
    // What kafka-topics.sh --describe shows: values set for this topic or on
    // the brokers, not Kafka's defaults.
    return !c.is_default && c.source != config_source::unknown;
}

int describe(admin& adm, const topic_args& a, bool json) {
    const auto descriptions = adm.describe_topics(a.topics, a.timeout);
    bool ok = true;
    std::ostringstream o;
    o << "{\"topics\":[";
    bool first = true;
    for (const auto& d : descriptions) {
        if (d.error) {
            ok = false;
            if (d.error == proto::kafka_errc::unknown_topic_or_partition)
                std::cerr << "kwire topic describe: topic '" << d.name << "' does not exist (UNKNOWN_TOPIC_OR_PARTITION)\n";
            else
                std::cerr << "kwire topic describe: topic '" << d.name << "': " << d.error.message() << "\n";
            continue;
        }
        const auto configs = adm.describe_topic_configs(d.name, a.timeout);
        if (json) {
            o << (first ? "" : ",") << "{\"name\":" << json_quote(d.name) << ",\"topic_id\":"
              << json_quote(d.id.to_base64()) << ",\"internal\":" << (d.internal ? "true" : "false")
              << ",\"partitions\":[";
            for (std::size_t i = 0; i < d.partitions.size(); ++i) {
                const auto& p = d.partitions[i];
                o << (i ? "," : "") << "{\"partition\":" << p.partition << ",\"leader\":" << p.leader
                  << ",\"leader_epoch\":" << p.leader_epoch << ",\"replicas\":" << json_ints(p.replicas)
                  << ",\"isr\":" << json_ints(p.isr) << ",\"error\":" << json_error(p.error) << "}";
            }
            o << "],\"configs\":[";
            for (std::size_t i = 0; i < configs.size(); ++i) {
                const auto& c = configs[i];
                o << (i ? "," : "") << "{\"name\":" << json_quote(c.name)
                  << ",\"value\":" << (c.value ? json_quote(*c.value) : "null")
                  << ",\"source\":" << json_quote(to_string(c.source)) << ",\"default\":" << (c.is_default ? "true" : "false")
                  << ",\"read_only\":" << (c.read_only ? "true" : "false")
                  << ",\"sensitive\":" << (c.sensitive ? "true" : "false") << "}";
            }
            o << "]}";
            first = false;
            continue;
        }
        if (!first) std::cout << "\n";
        first = false;
        const std::size_t replication = d.partitions.empty() ? 0 : d.partitions.front().replicas.size();
        std::cout << "Topic: " << d.name << "  Id: " << d.id.to_base64() << "  Partitions: " << d.partitions.size()
                  << "  Replication factor: " << replication << (d.internal ? "  (internal)" : "") << "\n";
        // An ERROR column only when some partition has an error.
        const bool errors = std::any_of(d.partitions.begin(), d.partitions.end(), [](const auto& p) { return bool(p.error); });
        std::vector<std::vector<std::string>> rows{{"PARTITION", "LEADER", "REPLICAS", "ISR"}};
        if (errors) rows.front().push_back("ERROR");
        for (const auto& p : d.partitions) {
            rows.push_back({std::to_string(p.partition), p.leader >= 0 ? std::to_string(p.leader) : "none",
                            join_ints(p.replicas), join_ints(p.isr)});
            if (errors) rows.back().push_back(error_name(p.error));
        }
        print_table(std::cout, rows);
        std::vector<std::vector<std::string>> config_rows{{"CONFIG", "VALUE", "SOURCE"}};
        for (const auto& c : configs) {
            if (!a.all_configs && !shown_by_default(c)) continue;
            config_rows.push_back({c.name, c.sensitive ? "(sensitive)" : c.value.value_or("(null)"), std::string(to_string(c.source))});
        }
        if (config_rows.size() == 1) {
            std::cout << (a.all_configs ? "Configs: none\n" : "Configs: all defaults (--all-configs shows them)\n");
        } else {
            std::cout << (a.all_configs ? "Configs:\n" : "Configs (not defaults; --all-configs shows all):\n");
            print_table(std::cout, config_rows);
        }
    }
    o << "]}";
    if (json) std::cout << o.str() << "\n";
    return ok ? exit_ok : exit_failure;
}

int list(admin& adm, const topic_args& a, bool json) {
    const auto topics = adm.list_topics(a.timeout);
    if (json) {
        std::ostringstream o;
        o << "{\"topics\":[";
        for (std::size_t i = 0; i < topics.size(); ++i) {
            const auto& t = topics[i];
            o << (i ? "," : "") << "{\"name\":" << json_quote(t.name) << ",\"topic_id\":" << json_quote(t.id.to_base64())
              << ",\"partitions\":" << t.partitions << ",\"internal\":" << (t.internal ? "true" : "false") << "}";
        }
        o << "]}";
        std::cout << o.str() << "\n";
        return exit_ok;
    }
    std::vector<std::vector<std::string>> rows{{"TOPIC", "PARTITIONS", "INTERNAL"}};
    for (const auto& t : topics) rows.push_back({t.name, std::to_string(t.partitions), t.internal ? "yes" : ""});
    print_table(std::cout, rows);
    return exit_ok;
}

} // namespace

int run_topic(const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "-h" || args[0] == "--help") {
        print_help();
        return args.empty() ? exit_usage : exit_ok;
    }
    topic_args a;
    auto opts = parse_common(args, {print_help}, [&](const std::string& flag, option_value& v) {
        if (flag == "-t" || flag == "--topic") {
            a.topics.push_back(v.need("a topic name"));
        } else if (flag == "--partitions") {
            a.partitions = parse_up_to(flag, v.need("a number"), 1'000'000);
        } else if (flag == "--replication-factor") {
            a.replication_factor = static_cast<std::int16_t>(parse_up_to(flag, v.need("a number"), 32767));
        } else if (flag == "--config") {
            const std::string& kv = v.need("key=value");
            const auto eq = kv.find('=');
            if (eq == std::string::npos || eq == 0) throw usage_error("--config needs key=value, got '" + kv + "'");
            a.configs[kv.substr(0, eq)] = kv.substr(eq + 1);
        } else if (flag == "--validate-only") {
            a.validate_only = true;
        } else if (flag == "--all-configs") {
            a.all_configs = true;
        } else if (flag == "--timeout") {
            a.timeout = parse_timeout(flag, v.need("milliseconds"));
        } else {
            return false;
        }
        return true;
    });
    if (opts.help) return exit_ok;
    // The action is the first word that is not an option: `kwire topic -b B list` works too.
    if (opts.positional.empty()) throw usage_error("no action given (see kwire topic --help)");
    const std::string action = opts.positional.front();
    opts.positional.erase(opts.positional.begin());
    if (action != "create" && action != "delete" && action != "describe" && action != "list")
        throw usage_error("unknown action '" + action + "' (there are: create, delete, describe, list)");
    a.topics.insert(a.topics.end(), opts.positional.begin(), opts.positional.end());
    if (action == "list" && !a.topics.empty()) throw usage_error("list takes no topic");
    if (action != "list" && a.topics.empty()) throw usage_error(action + " needs a topic: -t TOPIC");
    if (action == "create" && a.topics.size() > 1) throw usage_error("create makes one topic at a time");
    if (action != "create" && (a.partitions > 0 || a.replication_factor > 0 || !a.configs.empty() || a.validate_only))
        throw usage_error("--partitions, --replication-factor, --config and --validate-only are for create");
    if (!opts.cfg.get("bootstrap.servers")) throw usage_error("no brokers given: use -b HOST:PORT");

    admin adm(opts.cfg, stderr_log(opts.cfg));
    if (action == "create") {
        new_topic t{a.topics.front(), a.partitions, a.replication_factor, a.configs};
        const auto outcomes = adm.create_topics({t}, a.timeout, a.validate_only);
        return report(action, outcomes, opts.json, a) ? exit_ok : exit_failure;
    }
    if (action == "delete") {
        const auto outcomes = adm.delete_topics(a.topics, a.timeout);
        return report(action, outcomes, opts.json, a) ? exit_ok : exit_failure;
    }
    if (action == "describe") return describe(adm, a, opts.json);
    return list(adm, a, opts.json);
}

} // namespace kwire::cli
