// kwire: the command-line tool. Each command lives in its own file.
#include "cli.hpp"

#include <cstdio>
#include <exception>
#include <iostream>

namespace kwire::cli {

common_options parse_common(const std::vector<std::string>& args, const command_syntax& syntax,
                            const option_handler& other) {
    common_options out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        option_value value(a, i + 1 < args.size() ? &args[i + 1] : nullptr);
        if (a == "-h" || a == "--help") {
            out.help = true;
        } else if (a == "--json") {
            out.json = true;
        } else if (a == "-b" || a == "--bootstrap-servers") {
            out.cfg.set("bootstrap.servers", value.need("host:port[,host:port...]"));
        } else if (a == "-X") {
            const std::string& kv = value.need("key=value");
            const auto eq = kv.find('=');
            if (eq == std::string::npos) throw usage_error("-X needs key=value, got '" + kv + "'");
            out.cfg.set(kv.substr(0, eq), kv.substr(eq + 1));
        } else if (a == "-F") {
            out.cfg.load_file(value.need("a properties file"));
        } else if (other && other(a, value)) {
            // the command's own option
        } else if (!a.empty() && a[0] == '-') {
            throw usage_error("unknown option " + a);
        } else {
            out.positional.push_back(a);
        }
        if (value.used()) ++i;
    }
    if (out.help) {
        if (syntax.print_help) syntax.print_help();
    } else if (!syntax.takes_arguments && !out.positional.empty()) {
        throw usage_error("unexpected argument '" + out.positional.front() + "'");
    }
    return out;
}

} // namespace kwire::cli

namespace {

void print_usage() {
    std::cout << "kwire - a native C++ client for Apache Kafka\n"
                 "\n"
                 "usage: kwire COMMAND [options]\n"
                 "\n"
                 "commands:\n"
                 "  metadata         show brokers, topics, partitions and API versions of a cluster\n"
                 "  produce          send records: one per line of files or stdin (kcat -P style)\n"
                 "  consume          print records of topics or partitions, alone or in a group (kcat -C/-G style)\n"
                 "  bench produce    measure producer throughput and send-to-ack latency\n"
                 "  bench consume    measure consumer throughput (records/s, MB/s)\n"
                 "  bench e2e        measure end-to-end latency (send to poll) at a fixed rate\n"
                 "  doctor           check step by step (resolve, TCP, TLS, SASL, brokers) why a cluster is unreachable\n"
                 "  topic            create, delete, describe (partitions, leaders, configs) and list topics\n"
                 "  group            list and describe consumer groups; committed offsets, end offsets and lag\n"
                 "\n"
                 "options shared by every command:\n"
                 "  -b HOST:PORT[,...]   bootstrap servers (bootstrap.servers)\n"
                 "  -X key=value         set a configuration property (librdkafka/Java names)\n"
                 "  -F FILE              read properties from a file (key=value lines)\n"
                 "                       security: -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN\n"
                 "                       -X sasl.username=U -X sasl.password=P -X ssl.ca.location=CA.pem\n"
                 "                       logging to stderr: -X debug=broker,protocol,security|all\n"
                 "  --json               machine-readable output\n"
                 "  -h, --help           help for a command\n"
                 "\n"
                 "exit status: 0 success, 1 the operation failed, 2 bad usage or configuration\n";
}

} // namespace

int main(int argc, char** argv) {
    using namespace kwire::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
        print_usage();
        return args.empty() ? exit_usage : exit_ok;
    }
    std::string command = args[0];
    args.erase(args.begin());
    if (command == "bench") {
        // Benchmarks are named by what they measure: `kwire bench produce`.
        if (args.empty() || args[0] == "-h" || args[0] == "--help") {
            std::cout << "usage: kwire bench produce|consume|e2e [options]   (kwire bench NAME --help for its options)\n";
            return args.empty() ? exit_usage : exit_ok;
        }
        command += " " + args[0];
        args.erase(args.begin());
    }
    try {
        if (command == "metadata") return run_metadata(args);
        if (command == "produce") return run_produce(args);
        if (command == "consume") return run_consume(args);
        if (command == "bench produce") return run_bench_produce(args);
        if (command == "bench consume") return run_bench_consume(args);
        if (command == "bench e2e") return run_bench_e2e(args);
        if (command == "doctor") return run_doctor(args);
        if (command == "topic") return run_topic(args);
        if (command == "group") return run_group(args);
        if (command.starts_with("bench ")) {
            std::cerr << "kwire bench: unknown benchmark '" << command.substr(6) << "' (there are: produce, consume, e2e)\n";
            return exit_usage;
        }
        std::cerr << "kwire: unknown command '" << command << "' (see kwire --help)\n";
        return exit_usage;
    } catch (const usage_error& e) {
        std::cerr << "kwire " << command << ": " << e.what() << "\n";
        return exit_usage;
    } catch (const kwire::config_error& e) {
        std::cerr << "kwire " << command << ": " << e.what() << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "kwire " << command << ": " << e.what() << "\n";
        return exit_failure;
    }
}
