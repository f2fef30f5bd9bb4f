// kcat-style format strings and JSON lines for consumed records.
#include "format.hpp"

#include "cli.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace kwire::cli {
namespace {

void append_number(std::string& out, std::int64_t v) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out.append(buf, end);
}

void append_bytes(std::string& out, std::span<const std::byte> b) {
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
}

// Length of the well-formed UTF-8 sequence starting at p (of at most n
// bytes), or 0 when the bytes there are not one (Unicode table 3-7).
std::size_t utf8_sequence(const unsigned char* p, std::size_t n) noexcept {
    const unsigned c = p[0];
    if (c < 0x80) return 1;
    std::size_t len;
    unsigned lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c == 0xE0) {
        len = 3, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        len = 3;
    } else if (c == 0xED) {
        len = 3, hi = 0x9F;  // no surrogates
    } else if (c == 0xF0) {
        len = 4, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        len = 4;
    } else if (c == 0xF4) {
        len = 4, hi = 0x8F;  // nothing above U+10FFFF
    } else {
        return 0;
    }
    if (n < len) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (std::size_t i = 2; i < len; ++i)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return len;
}

constexpr char hex_digits[] = "0123456789abcdef";

void append_u00(std::string& out, unsigned char c) {
    const char buf[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xF]};
    out.append(buf, sizeof buf);
}

// Appends a JSON value for bytes that may be null or not UTF-8; `name` is the
// member's name (key, value), for the "<name>_encoding" sibling.
void append_json_member(std::string& out, std::string_view name, const std::optional<std::span<const std::byte>>& b) {
    out += '"';
    out += name;
    out += "\":";
    if (!b) {
        out += "null";
        return;
    }
    if (is_utf8(*b)) {
        append_json_string(out, std::string_view(reinterpret_cast<const char*>(b->data()), b->size()));
        return;
    }
    out += '"';
    append_base64(out, *b);
    out += "\",\"";
    out += name;
    out += "_encoding\":\"base64\"";
}

} // namespace

std::string unescape_text(const std::string& flag, std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        const char c = s[++i];
        switch (c) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case '0': out += '\0'; break;
        case '\\': out += '\\'; break;
        case 'x': {
            unsigned v = 0;
            const char* first = s.data() + i + 1;
            const char* last = s.data() + std::min(s.size(), i + 3);
            const auto [end, ec] = std::from_chars(first, last, v, 16);
            if (ec != std::errc{} || end != last || last - first != 2)
                throw usage_error(flag + ": \\x needs two hex digits in '" + std::string(s) + "'");
            out += static_cast<char>(v);
            i += 2;
            break;
        }
        default:
            throw usage_error(flag + ": unknown escape \\" + std::string(1, c) + " in '" + std::string(s) +
                              "' (known: \\n \\r \\t \\0 \\\\ \\xNN)");
        }
    }
    return out;
}

record_format record_format::parse(std::string_view format, std::string null_text) {
    record_format f;
    f.null_text_ = std::move(null_text);
    std::string literal;
    auto flush = [&] {
        if (literal.empty()) return;
        f.pieces_.push_back({field::literal, std::move(literal)});
        literal.clear();
    };
    for (std::size_t i = 0; i < format.size(); ++i) {
        const char c = format[i];
        if (c == '\\') {
            // Escapes one at a time, so "\\%s" stays a backslash and a token.
            std::size_t len = 2;
            if (i + 1 < format.size() && format[i + 1] == 'x') len = 4;
            literal += unescape_text("-f", format.substr(i, len));
            i += std::min(len, format.size() - i) - 1;
            continue;
        }
        if (c != '%') {
            literal += c;
            continue;
        }
        if (i + 1 == format.size()) throw usage_error("-f: a lone % at the end of '" + std::string(format) + "'");
        const char t = format[++i];
        field what;
        switch (t) {
        case '%': literal += '%'; continue;
        case 't': what = field::topic; break;
        case 'p': what = field::partition; break;
        case 'o': what = field::offset; break;
        case 'k': what = field::key; break;
        case 'K': what = field::key_length; break;
        case 's': what = field::value; break;
        case 'S': what = field::value_length; break;
        case 'R': what = field::value_length_be; break;
        case 'T': what = field::timestamp; break;
        case 'h': what = field::headers; break;
        default:
            throw usage_error("-f: unknown token %" + std::string(1, t) + " in '" + std::string(format) +
                              "' (known: %t %p %o %k %K %s %S %R %T %h %%)");
        }
        flush();
        f.pieces_.push_back({what, {}});
    }
    flush();
    return f;
}

void record_format::append(std::string& out, const consumer_record& r) const {
    for (const piece& p : pieces_) {
        switch (p.what) {
        case field::literal: out += p.text; break;
        case field::topic: out += r.topic; break;
        case field::partition: append_number(out, r.partition); break;
        case field::offset: append_number(out, r.offset); break;
        case field::key:
            if (r.key) append_bytes(out, *r.key);
            else out += null_text_;
            break;
        case field::key_length: append_number(out, r.key ? static_cast<std::int64_t>(r.key->size()) : -1); break;
        case field::value:
            if (r.value) append_bytes(out, *r.value);
            else out += null_text_;
            break;
        case field::value_length: append_number(out, r.value ? static_cast<std::int64_t>(r.value->size()) : -1); break;
        case field::value_length_be: {
            const auto n = static_cast<std::uint32_t>(r.value ? static_cast<std::int32_t>(r.value->size()) : -1);
            const char be[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                                static_cast<char>(n)};
            out.append(be, 4);
            break;
        }
        case field::timestamp: append_number(out, r.timestamp_ms); break;
        case field::headers: {
            bool first = true;
            for (const auto& h : r.headers) {
                if (!first) out += ',';
                first = false;
                out += h.key;
                if (h.value) {
                    out += '=';
                    append_bytes(out, *h.value);
                }
            }
            break;
        }
        }
    }
}

bool is_utf8(std::span<const std::byte> bytes) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    while (i < n) {
        // ASCII runs, 8 bytes at a time.
        while (i + 8 <= n) {
            std::uint64_t w;
            std::memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i == n) break;
        const std::size_t len = utf8_sequence(p + i, n - i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t run = 0;  // start of the bytes not yet copied
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            ++i;
            continue;
        }
        if (c >= 0x80) {
            const std::size_t len = utf8_sequence(p + i, n - i);
            if (len > 0) {
                i += len;
                continue;
            }
        }
        out.append(s.data() + run, i - run);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default: append_u00(out, c);  // a control character, or a byte that is not UTF-8
        }
        run = ++i;
    }
    out.append(s.data() + run, n - run);
    out += '"';
}

void append_base64(std::string& out, std::span<const std::byte> bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
        const char quad[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], alphabet[v & 63]};
        out.append(quad, 4);
    }
    if (n - i == 1) {
        const std::uint32_t v = std::uint32_t{p[i]} << 16;
        const char quad[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], '=', '='};
        out.append(quad, 4);
    } else if (n - i == 2) {
        const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8);
        const char quad[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], '='};
        out.append(quad, 4);
    }
}

void append_json(std::string& out, const consumer_record& r) {
    out += "{\"topic\":";
    append_json_string(out, r.topic);
    out += ",\"partition\":";
    append_number(out, r.partition);
    out += ",\"offset\":";
    append_number(out, r.offset);
    out += ",\"timestamp\":";
    append_number(out, r.timestamp_ms);
    out += ',';
    append_json_member(out, "key", r.key);
    out += ',';
    append_json_member(out, "value", r.value);
    out += ",\"headers\":[";
    bool first = true;
    for (const auto& h : r.headers) {
        if (!first) out += ',';
        first = false;
        out += "{\"name\":";
        append_json_string(out, h.key);
        out += ',';
        append_json_member(out, "value", h.value);
        out += '}';
    }
    out += "]}";
}

} // namespace kwire::cli
