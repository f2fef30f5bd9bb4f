#include "kwire/net/log.hpp"

#include <charconv>
#include <stdexcept>

namespace kwire::net {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

} // namespace

std::string_view to_string(log_level level) noexcept {
    switch (level) {
    case log_level::error: return "error";
    case log_level::warn: return "warn";
    case log_level::info: return "info";
    case log_level::debug: return "debug";
    }
    return "?";
}

std::string_view context_name(unsigned context) noexcept {
    if (context & log_context::security) return "security";
    if (context & log_context::protocol) return "protocol";
    if (context & log_context::broker) return "broker";
    if (context & log_context::producer) return "producer";
    if (context & log_context::consumer) return "consumer";
    return "kwire";
}

unsigned logger::parse_debug(std::string_view list) {
    unsigned mask = 0;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view item = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (item.empty()) continue;
        if (item == "broker") mask |= log_context::broker;
        else if (item == "protocol") mask |= log_context::protocol;
        else if (item == "security") mask |= log_context::security;
        else if (item == "producer" || item == "msg") mask |= log_context::producer;
        else if (item == "consumer" || item == "fetch" || item == "cgrp") mask |= log_context::consumer;
        else if (item == "all") mask |= log_context::all;
        else
            throw std::invalid_argument("unknown debug context '" + std::string(item) +
                                        "' (known: broker, protocol, security, producer, consumer, all)");
    }
    return mask;
}

log_level logger::parse_level(std::string_view text) {
    text = trim(text);
    if (text == "error" || text == "err") return log_level::error;
    if (text == "warn" || text == "warning") return log_level::warn;
    if (text == "info" || text == "notice") return log_level::info;
    if (text == "debug") return log_level::debug;
    int n = -1;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec == std::errc{} && end == text.data() + text.size() && n >= 0 && n <= 7) {
        if (n <= 3) return log_level::error;
        if (n == 4) return log_level::warn;
        if (n <= 6) return log_level::info;
        return log_level::debug;
    }
    throw std::invalid_argument("log level '" + std::string(text) +
                                "' is not error, warn, info, debug or a syslog level 0-7");
}

} // namespace kwire::net
