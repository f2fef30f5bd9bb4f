// README.md's reference sections checked against the code: every known
// configuration key (with its default) and alias, and every kwire error code
// (with its message), has a row; no row names something the code lacks. A
// key, alias or error code added without its README row fails here.
#include "kwire/config.hpp"
#include "kwire/errors.hpp"
#include "kwire/net/errors.hpp"
#include "kwire/proto/kafka_error.hpp"
#include "kwire/proto/wire_error.hpp"

#include <doctest/doctest.h>

#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::string readme() {
    const std::string path = std::string(KWIRE_SOURCE_DIR) + "/README.md";
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        out.push_back(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    }
    return out;
}

// The lines of the level-2 section `## title`, up to the next level-2 heading.
std::vector<std::string_view> section(const std::string& doc, std::string_view title) {
    std::vector<std::string_view> out;
    bool inside = false;
    bool fenced = false;
    for (std::string_view line : lines_of(doc)) {
        if (line.starts_with("```")) fenced = !fenced;
        if (!fenced && line.starts_with("## ")) {
            if (inside) break;
            inside = trim(line.substr(3)) == title;
            continue;
        }
        if (inside) out.push_back(line);
    }
    return out;
}

// The cells of a table row; a '|' inside a code span does not split.
std::vector<std::string> cells(std::string_view row) {
    row = trim(row);
    if (row.starts_with('|')) row.remove_prefix(1);
    if (row.ends_with('|')) row.remove_suffix(1);
    std::vector<std::string> out;
    std::string cell;
    bool code = false;
    for (char c : row) {
        if (c == '`') code = !code;
        if (c == '|' && !code) {
            out.emplace_back(trim(cell));
            cell.clear();
        } else {
            cell += c;
        }
    }
    out.emplace_back(trim(cell));
    return out;
}

struct table {
    std::string heading;  // the ### heading above it
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
};

// Every Markdown table among `lines` (indented ones too).
std::vector<table> tables(const std::vector<std::string_view>& lines) {
    std::vector<table> out;
    std::string heading;
    bool in_table = false;
    for (std::string_view raw : lines) {
        const std::string_view line = trim(raw);
        if (line.starts_with("### ")) heading = std::string(line.substr(4));
        if (!line.starts_with('|')) {
            in_table = false;
            continue;
        }
        if (!in_table) {
            out.push_back(table{heading, cells(line), {}});
            in_table = true;
        } else if (line.find_first_not_of("|-: ") != std::string_view::npos) {  // not the |---| line
            out.back().rows.push_back(cells(line));
        }
    }
    return out;
}

// "`x`" -> "x"; nullopt unless the cell is exactly one code span.
std::optional<std::string> code_span(std::string_view cell) {
    if (cell.size() < 2 || cell.front() != '`' || cell.back() != '`') return std::nullopt;
    const std::string_view inner = cell.substr(1, cell.size() - 2);
    if (inner.empty() || inner.find('`') != std::string_view::npos) return std::nullopt;
    return std::string(inner);
}

// The code span a cell starts with: "`true` (producer)" -> "true".
std::optional<std::string> leading_code_span(std::string_view cell) {
    if (cell.empty() || cell.front() != '`') return std::nullopt;
    const auto close = cell.find('`', 1);
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    return std::string(cell.substr(1, close - 1));
}

std::optional<int> number(std::string_view cell) {
    int v = 0;
    const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
    if (ec != std::errc{} || end != cell.data() + cell.size()) return std::nullopt;
    return v;
}

// Rows of the tables in `lines` whose header begins with `first`, `second`.
std::vector<std::vector<std::string>> rows_of(const std::vector<std::string_view>& lines, std::string_view first,
                                              std::string_view second) {
    std::vector<std::vector<std::string>> out;
    for (const auto& t : tables(lines)) {
        if (t.header.size() < 2 || t.header[0] != first || t.header[1] != second) continue;
        for (const auto& r : t.rows) out.push_back(r);
    }
    return out;
}

// The table under the ### heading that contains `needle`.
const table* table_under(const std::vector<table>& all, std::string_view needle) {
    for (const auto& t : all)
        if (t.heading.find(needle) != std::string::npos) return &t;
    return nullptr;
}

// A code's message, or nullopt for a value the category does not define
// (its message is the category's text for an unknown value).
std::optional<std::string> defined_message(const std::error_category& category, int value) {
    constexpr int surely_unknown = 999983;
    std::string unknown = category.message(surely_unknown);
    const std::string marker = std::to_string(surely_unknown);
    if (const auto at = unknown.find(marker); at != std::string::npos)
        unknown.replace(at, marker.size(), std::to_string(value));
    std::string message = category.message(value);
    if (message == unknown) return std::nullopt;
    return message;
}

// Every documented row of a kwire error enum (code, name, message, when,
// what to do) against the category: each defined code has its row with the
// exact message, and each row's code is defined.
void check_error_table(const std::vector<table>& all, std::string_view enum_name, const std::error_category& category) {
    INFO("README error reference, " << enum_name);
    const table* t = table_under(all, enum_name);
    REQUIRE_MESSAGE(t != nullptr, "no ### heading naming " << enum_name << " under ## Error reference");
    REQUIRE(t->header.size() >= 5);
    CHECK(t->header[0] == "code");
    CHECK(t->header[1] == "name");

    std::map<int, const std::vector<std::string>*> by_code;
    std::set<std::string> names;
    for (const auto& row : t->rows) {
        REQUIRE(row.size() == t->header.size());
        const auto code = number(row[0]);
        REQUIRE_MESSAGE(code.has_value(), "not a code: '" << row[0] << "'");
        CHECK_MESSAGE(by_code.emplace(*code, &row).second, "code " << *code << " is listed twice");
        const auto name = code_span(row[1]);
        CHECK_MESSAGE(name.has_value(), "code " << *code << ": the name is not `name`: '" << row[1] << "'");
        if (name) CHECK_MESSAGE(names.insert(*name).second, *name << " is listed twice");
        CHECK_MESSAGE(!row[3].empty(), "code " << *code << ": no 'when'");
        CHECK_MESSAGE(!row[4].empty(), "code " << *code << ": no 'what to do'");
        CHECK_MESSAGE(defined_message(category, *code).has_value(),
                      "code " << *code << " (" << row[1] << ") is in the README but not in " << enum_name);
    }

    // The enums start at 1; a generous range catches codes added with a gap.
    int defined = 0;
    for (int v = 1; v <= 1000; ++v) {
        const auto message = defined_message(category, v);
        if (!message) continue;
        ++defined;
        const auto it = by_code.find(v);
        CHECK_MESSAGE(it != by_code.end(),
                      enum_name << " code " << v << " ('" << *message << "') has no row in the README");
        if (it != by_code.end())
            CHECK_MESSAGE((*it->second)[2] == *message, enum_name << " code " << v << ": the README's message '"
                                                                  << (*it->second)[2] << "' is not '" << *message
                                                                  << "'");
    }
    CHECK(defined >= 10);  // the unknown-code detection works
}

} // namespace

TEST_CASE("README: configuration reference lists every known key with its default") {
    const std::string doc = readme();
    const auto lines = section(doc, "Configuration reference");
    REQUIRE_MESSAGE(!lines.empty(), "README.md has no '## Configuration reference' section");

    std::map<std::string, std::vector<std::string>> documented;
    for (const auto& row : rows_of(lines, "key", "default")) {
        REQUIRE(row.size() == 3);
        const auto key = code_span(row[0]);
        REQUIRE_MESSAGE(key.has_value(), "a key cell that is not `key`: '" << row[0] << "'");
        CHECK_MESSAGE(documented.emplace(*key, row).second, *key << " has two rows");
        CHECK_MESSAGE(!row[2].empty(), *key << ": no meaning");
    }

    std::set<std::string> known;
    for (const auto& k : kwire::config::known_keys()) {
        known.emplace(k.name);
        INFO("key " << k.name);
        const auto it = documented.find(std::string(k.name));
        CHECK_MESSAGE(it != documented.end(), k.name << " has no row in the README's configuration reference");
        if (it == documented.end()) continue;
        const std::string& cell = it->second[1];
        const auto shown = leading_code_span(cell);
        if (k.default_value.empty()) {
            CHECK_MESSAGE(!shown.has_value(), k.name << " has no default, but the README shows '" << cell << "'");
        } else {
            CHECK_MESSAGE(shown.has_value(), k.name << ": the default cell '" << cell << "' does not start with `"
                                                    << k.default_value << "`");
            if (shown) CHECK(*shown == k.default_value);
        }
    }
    for (const auto& [key, row] : documented)
        CHECK_MESSAGE(known.count(key) == 1, key << " is in the README but not a known key (stale row?)");
}

TEST_CASE("README: configuration reference lists every alias") {
    const std::string doc = readme();
    const auto lines = section(doc, "Configuration reference");
    REQUIRE(!lines.empty());

    std::map<std::string, std::string> documented;  // alias -> key
    for (const auto& row : rows_of(lines, "alias", "key")) {
        REQUIRE(row.size() >= 2);
        const auto alias = code_span(row[0]);
        const auto key = leading_code_span(row[1]);
        REQUIRE_MESSAGE(alias.has_value(), "an alias cell that is not `alias`: '" << row[0] << "'");
        REQUIRE_MESSAGE(key.has_value(), *alias << ": the key cell does not start with `key`: '" << row[1] << "'");
        CHECK_MESSAGE(documented.emplace(*alias, *key).second, *alias << " has two rows");
    }

    const auto& aliases = kwire::config::known_aliases();
    CHECK(aliases.size() >= 10);
    for (const auto& [alias, key] : aliases) {
        const auto it = documented.find(std::string(alias));
        CHECK_MESSAGE(it != documented.end(), "alias " << alias << " has no row in the README");
        if (it != documented.end())
            CHECK_MESSAGE(it->second == key, "alias " << alias << " is for " << key << ", the README says " << it->second);
    }
    // kafka-python's ssl_check_hostname: a boolean for the host name check.
    const auto hostname = documented.find("ssl_check_hostname");
    CHECK_MESSAGE(hostname != documented.end(), "ssl_check_hostname has no row in the README");
    if (hostname != documented.end()) CHECK(hostname->second == "ssl.endpoint.identification.algorithm");
    kwire::config c;
    c.set("ssl_check_hostname", "false");
    CHECK(c.get_or_default("ssl.endpoint.identification.algorithm") == "none");

    for (const auto& [alias, key] : documented)
        CHECK_MESSAGE((alias == "ssl_check_hostname" || aliases.count(alias) == 1),
                      alias << " is in the README but not a known alias (stale row?)");
}

TEST_CASE("README: error reference lists every kwire error code with its message") {
    const std::string doc = readme();
    const auto lines = section(doc, "Error reference");
    REQUIRE_MESSAGE(!lines.empty(), "README.md has no '## Error reference' section");
    const auto all = tables(lines);
    check_error_table(all, "kwire::client_errc", kwire::client_category());
    check_error_table(all, "kwire::net::errc", kwire::net::net_category());
    check_error_table(all, "kwire::proto::wire_errc", kwire::proto::wire_category());
}

TEST_CASE("README: the broker errors listed match Kafka's error table") {
    const std::string doc = readme();
    const auto lines = section(doc, "Error reference");
    REQUIRE(!lines.empty());
    const auto all = tables(lines);
    const table* t = table_under(all, "kafka_errc");
    REQUIRE_MESSAGE(t != nullptr, "no ### heading naming kafka_errc under ## Error reference");
    REQUIRE(t->header.size() >= 4);
    CHECK(t->header[0] == "code");
    CHECK(t->header[1] == "name");
    CHECK(t->header[2] == "retriable");
    CHECK(t->rows.size() >= 10);
    for (const auto& row : t->rows) {
        REQUIRE(row.size() == t->header.size());
        const auto code = number(row[0]);
        REQUIRE_MESSAGE(code.has_value(), "not a code: '" << row[0] << "'");
        const auto* info = kwire::proto::find_kafka_error(static_cast<std::int16_t>(*code));
        REQUIRE_MESSAGE(info != nullptr, "Kafka has no error code " << *code);
        INFO("code " << *code << " " << info->name);
        CHECK(code_span(row[1]) == std::optional<std::string>(std::string(info->name)));
        CHECK(row[2] == (info->retriable ? "yes" : "no"));
        CHECK_MESSAGE(!row[3].empty(), "no 'what kwire does'");
    }
}
