"""C++ emission for kwire_gen: message structs, codecs, api_keys."""

from schema import (INT_TYPES, MAX_VERSION, SchemaError, cond, intersect, parse_int,
                    ident, vrange_str)
from support_hpp import SUPPORT_HPP  # noqa: F401  (re-exported)

SIMPLE_CPP = {"bool": "bool", "float64": "double", "string": "std::string", "uuid": "uuid",
              "bytes": "std::vector<std::byte>"}


def cstr(s):
    out = []
    for ch in s:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def int_literal(t, v):
    cpp, _, lo, _ = INT_TYPES[t]
    if v == lo and lo < 0:
        return f"std::numeric_limits<{cpp}>::min()"
    if t == "uint32" and v > 0x7FFFFFFF:
        return f"{v}u"
    return str(v)


def float_literal(d):
    v = float(d)
    s = repr(v)
    if s in ("inf", "-inf", "nan"):
        raise SchemaError(f"unsupported float default {d!r}")
    if "." not in s and "e" not in s:
        s += ".0"
    return s


def elem_cpp(f, msg):
    if f.is_struct:
        return f"{msg.name}::{f.struct.name}"
    if f.type_name in INT_TYPES:
        return INT_TYPES[f.type_name][0]
    if f.type_name == "records":
        return "records_bytes"
    return SIMPLE_CPP[f.type_name]


def cpp_type(f, msg):
    e = elem_cpp(f, msg)
    if f.is_array:
        v = f"std::vector<{e}>"
        return f"std::optional<{v}>" if f.is_nullable_type else v
    if f.type_name == "records":
        return e
    if f.is_nullable_type and f.type_name in ("string", "bytes", "uuid") or (f.is_struct and f.is_nullable_type):
        if f.type_name == "uuid":
            return e  # Java maps nullable uuids to the zero uuid; so do we
        return f"std::optional<{e}>"
    return e


def is_optional(f):
    if f.type_name == "uuid" and not f.is_array:
        return False
    if f.type_name == "records" and not f.is_array:
        return True
    return f.is_nullable_type


def default_init(f):
    """Initializer text after the member name (may be empty)."""
    t, d = f.type_name, f.default_raw
    if f.is_array or f.is_struct or t in ("bytes",):
        if is_optional(f) and not f.default_is_null:
            return "{std::in_place}"
        return ""
    if t == "records" or t == "uuid":
        return ""
    if t in INT_TYPES:
        return " = " + int_literal(t, parse_int(d, f.what) if d is not None else 0)
    if t == "bool":
        return " = " + ("true" if str(d).lower() == "true" else "false")
    if t == "float64":
        return " = " + float_literal(d if d is not None else 0)
    if t == "string":
        if is_optional(f):
            if f.default_is_null:
                return ""
            return "{std::in_place}" if not d else "{" + cstr(d) + "}"
        return "" if not d else " = " + cstr(d)
    raise SchemaError(f"{f.what}: no default for {t}")


def nondefault(f, m, msg):
    """C++ expression: member `m` differs from the field's default."""
    t, d = f.type_name, f.default_raw
    opt = is_optional(f)
    if f.is_array or t in ("bytes",) or (t == "string" and not d):
        if not opt:
            return f"!{m}.empty()"
        if f.default_is_null:
            return f"{m}.has_value()"
        return f"!({m} && {m}->empty())"
    if f.is_struct:
        e = elem_cpp(f, msg)
        if not opt:
            return f"!({m} == {e}{{}})"
        if f.default_is_null:
            return f"{m}.has_value()"
        return f"!({m} && *{m} == {e}{{}})"
    if t == "records":
        return f"{m}.has_value()"
    if t == "uuid":
        return f"!{m}.is_zero()"
    if t == "string":
        if f.default_is_null:
            return f"{m}.has_value()"
        if opt:
            return f"!({m} && *{m} == {cstr(d)})"
        return f"{m} != {cstr(d)}"
    if t == "bool":
        return f"!{m}" if str(d).lower() == "true" else m
    if t == "float64":
        return f"{m} != {float_literal(d if d is not None else 0)}"
    if t in INT_TYPES:
        return f"{m} != {int_literal(t, parse_int(d, f.what) if d is not None else 0)}"
    raise SchemaError(f"{f.what}: unsupported type {t}")


def write_stmt(f, w, flex, nullok):
    m, t = f.name, f.type_name
    if f.is_array:
        if is_optional(f):
            return f"detail::write_array({w}, {m}, {flex}, {nullok}, version);"
        return f"detail::write_array({w}, {m}, {flex}, version);"
    if f.is_struct:
        if is_optional(f):
            return f"detail::write_struct({w}, {m}, {nullok}, version);"
        return f"{m}.encode({w}, version);"
    if t in INT_TYPES:
        return f"{w}.write_{INT_TYPES[t][1]}({m});"
    if t == "bool":
        return f"{w}.write_bool({m});"
    if t == "float64":
        return f"{w}.write_float64({m});"
    if t == "uuid":
        return f"{w}.write_uuid({m});"
    if t == "records":
        return f"detail::write_records({w}, {m}, {flex}, {nullok});"
    if t in ("string", "bytes"):
        if is_optional(f):
            return f"detail::write_{t}({w}, {m}, {flex}, {nullok});"
        return f"detail::write_{t}({w}, {m}, {flex});"
    raise SchemaError(f"{f.what}: unsupported type {t}")


def read_stmt(f, r, flex, nullok):
    m, t = f.name, f.type_name
    if f.is_array:
        if is_optional(f):
            return f"detail::read_array({r}, {m}, {flex}, {nullok}, version);"
        return f"detail::read_array({r}, {m}, {flex}, version);"
    if f.is_struct:
        if is_optional(f):
            return f"detail::read_struct({r}, {m}, {nullok}, version);"
        return f"{m}.decode({r}, version);"
    if t in INT_TYPES:
        return f"{m} = {r}.read_{INT_TYPES[t][1]}();"
    if t == "bool":
        return f"{m} = {r}.read_bool();"
    if t == "float64":
        return f"{m} = {r}.read_float64();"
    if t == "uuid":
        return f"{m} = {r}.read_uuid();"
    if t == "records":
        return f"detail::read_records({r}, {m}, {flex}, {nullok});"
    if t in ("string", "bytes"):
        if is_optional(f):
            return f"detail::read_{t}({r}, {m}, {flex}, {nullok});"
        return f"detail::read_{t}({r}, {m}, {flex});"
    raise SchemaError(f"{f.what}: unsupported type {t}")


def regular_range(f):
    """Versions in which the field is a regular (untagged) field."""
    if f.versions is None:
        return None
    if f.tagged is None:
        return f.versions
    if f.tagged[1] < f.versions[1]:
        raise SchemaError(f"{f.what}: taggedVersions must be open-ended like versions")
    if f.tagged[0] <= f.versions[0]:
        return None
    return (f.versions[0], f.tagged[0] - 1)


def guarded(c, stmt, indent="    "):
    if c == "false":
        return []
    if c == "true":
        return [indent + stmt]
    return [f"{indent}if ({c}) {stmt}"]


def field_flex(f, msg, possible, flexcond):
    if f.has_flexible_override:
        return cond(intersect(f.flexible_override, msg.flexible), possible)
    return "flexible" if flexcond not in ("true", "false") else flexcond


def known_tagged(s):
    fs = [f for f in s.fields if f.tagged is not None and intersect(f.tagged, s.possible) is not None]
    return sorted(fs, key=lambda f: f.tag)


def qualified(s, msg):
    return msg.name if s.is_root else f"{msg.name}::{s.name}"


def emit_encode(s, msg):
    q = qualified(s, msg)
    P = s.possible
    L = [f"std::error_code {q}::encode(writer& w, [[maybe_unused]] std::int16_t version) const {{"]
    if s.is_root:
        L.append(f"    if (version < min_version || version > max_version) {{")
        L.append(f"        w.fail(wire_errc::unsupported_version);")
        L.append(f"        return wire_errc::unsupported_version;")
        L.append(f"    }}")
    flexcond = cond(msg.flexible, P)
    if flexcond not in ("true", "false"):
        L.append(f"    const bool flexible = {flexcond};")
    for f in s.fields:
        fp = intersect(P, f.versions)
        nullok = cond(f.nullable, fp) if is_optional(f) else "true"
        reg = regular_range(f)
        if reg is not None:
            L += guarded(cond(reg, P), write_stmt(f, "w", field_flex(f, msg, P, flexcond), nullok))
        if not f.ignorable:
            pc = cond(f.versions, P)
            if pc != "true":
                nd = nondefault(f, f.name, msg)
                c = nd if pc == "false" else f"!({pc}) && {nd}"
                L.append(f"    if ({c}) w.fail(wire_errc::field_not_in_version);")
    if s.can_flex:
        tagged = known_tagged(s)
        ind = "    "
        if flexcond != "true":
            L.append("    if (flexible) {")
            ind = "        "
        for f in tagged:
            tc = cond(f.tagged, P)
            nd = nondefault(f, f.name, msg)
            L.append(f"{ind}const bool has_{f.name} = {nd if tc == 'true' else f'({tc}) && {nd}'};")
        count = " + ".join(f"(has_{f.name} ? 1u : 0u)" for f in tagged) or "0"
        L.append(f"{ind}detail::tag_writer tags(w, unknown_tagged, {count});")
        for f in tagged:
            fp = intersect(P, f.tagged)
            nullok = cond(f.nullable, fp) if is_optional(f) else "true"
            st = write_stmt(f, "tw", "true", nullok)
            L.append(f"{ind}if (has_{f.name}) tags.field({f.tag}, [&](writer& tw) {{ {st} }});")
        L.append(f"{ind}tags.finish();")
        if flexcond != "true":
            L.append("    } else if (!unknown_tagged.empty()) {")
            L.append("        w.fail(wire_errc::field_not_in_version);")
            L.append("    }")
    L.append("    return w.error();")
    L.append("}")
    return L


def emit_decode(s, msg):
    q = qualified(s, msg)
    P = s.possible
    L = [f"std::error_code {q}::decode(reader& r, [[maybe_unused]] std::int16_t version) {{"]
    if s.is_root:
        L.append(f"    if (version < min_version || version > max_version) {{")
        L.append(f"        r.fail(wire_errc::unsupported_version);")
        L.append(f"        return r.error();")
        L.append(f"    }}")
    L.append(f"    *this = {q}{{}};")
    flexcond = cond(msg.flexible, P)
    if flexcond not in ("true", "false"):
        L.append(f"    const bool flexible = {flexcond};")
    for f in s.fields:
        fp = intersect(P, f.versions)
        nullok = cond(f.nullable, fp) if is_optional(f) else "true"
        reg = regular_range(f)
        if reg is not None:
            L += guarded(cond(reg, P), read_stmt(f, "r", field_flex(f, msg, P, flexcond), nullok))
    if s.can_flex:
        tagged = known_tagged(s)
        ind = "    "
        pre = "" if flexcond == "true" else "if (flexible) "
        L.append(f"    {pre}r.read_tagged_fields([&](std::uint32_t tag, reader& fr) {{")
        if tagged:
            L.append("        switch (tag) {")
            for f in tagged:
                fp = intersect(P, f.tagged)
                nullok = cond(f.nullable, fp) if is_optional(f) else "true"
                st = read_stmt(f, "fr", "true", nullok)
                tc = cond(f.tagged, P)
                if tc == "true":
                    L.append(f"        case {f.tag}: {st} return;")
                else:
                    L.append(f"        case {f.tag}: if ({tc}) {{ {st} return; }} break;")
            L.append("        default: break;")
            L.append("        }")
        L.append("        detail::keep_unknown_tag(unknown_tagged, tag, fr);")
        L.append("    });")
    L.append("    return r.error();")
    L.append("}")
    return L


def emit_size(s, msg):
    q = qualified(s, msg)
    return [f"std::size_t {q}::encoded_size(std::int16_t version) const {{",
            "    writer w;",
            "    encode(w, version);",
            "    return w.size();",
            "}"]


def field_comment(f):
    bits = [f"v{vrange_str(f.versions)}"]
    if f.nullable is not None:
        bits.append(f"nullable v{vrange_str(f.nullable)}")
    if f.tag is not None:
        bits.append(f"tag {f.tag} v{vrange_str(f.tagged)}")
    if f.ignorable:
        bits.append("ignorable")
    return "; ".join(bits)


def emit_struct_body(s, msg, ind):
    L = []
    for f in s.fields:
        L.append(f"{ind}{cpp_type(f, msg)} {f.name}{default_init(f)}; // {field_comment(f)}")
    if s.can_flex:
        L.append(f"{ind}unknown_tagged_fields unknown_tagged;")
    L.append("")
    L.append(f"{ind}std::error_code encode(writer& w, std::int16_t version) const;")
    L.append(f"{ind}std::error_code decode(reader& r, std::int16_t version);")
    L.append(f"{ind}std::size_t encoded_size(std::int16_t version) const;")
    n = msg.name if s.is_root else s.name
    L.append(f"{ind}friend bool operator==(const {n}&, const {n}&) = default;")
    return L


def emit_message_decl(msg, pair_other=None):
    L = [f"// {msg.json_name}: versions {vrange_str(msg.valid)}, flexible {vrange_str(msg.flexible)}."]
    L.append(f"struct {msg.name} {{")
    if msg.api_key is not None:
        L.append(f"    static constexpr std::int16_t api_key = {msg.api_key};")
    L.append(f"    static constexpr std::int16_t min_version = {msg.valid[0]};")
    L.append(f"    static constexpr std::int16_t max_version = {msg.valid[1]};")
    ff = -1 if msg.flexible is None else msg.flexible[0]
    L.append(f"    static constexpr std::int16_t first_flexible_version = {ff};")
    L.append(f"    static constexpr bool latest_version_unstable = {'true' if msg.latest_unstable else 'false'};")
    if pair_other is not None:
        alias = "response_type" if msg.kind == "request" else "request_type"
        L.append(f"    using {alias} = {pair_other.name};")
    for s in msg.structs:
        if s.is_root:
            continue
        L.append("")
        L.append(f"    // {s.json_name}")
        L.append(f"    struct {s.name} {{")
        L += emit_struct_body(s, msg, "        ")
        L.append("    };")
    L.append("")
    L += emit_struct_body(msg.root, msg, "    ")
    L.append("};")
    return L


def emit_unit(stem, msgs):
    for m in msgs:
        m.build()
        if m.valid[1] > MAX_VERSION:
            raise SchemaError(f"{m.json_name}: version too large")
    h = ["#pragma once", "", '#include "kwire/proto/messages/support.hpp"', "",
         "#include <limits>", "", "namespace kwire::proto {", ""]
    pair = len(msgs) == 2
    if pair:
        h.append(f"struct {msgs[1].name};")
        h.append("")
    for i, m in enumerate(msgs):
        other = msgs[1 - i] if pair else None
        h += emit_message_decl(m, other)
        h.append("")
    h.append("} // namespace kwire::proto")
    c = [f'#include "kwire/proto/messages/{stem}.hpp"', "", "namespace kwire::proto {", ""]
    for m in msgs:
        for s in m.structs:
            c += emit_encode(s, m)
            c.append("")
            c += emit_decode(s, m)
            c.append("")
            c += emit_size(s, m)
            c.append("")
    c.append("} // namespace kwire::proto")
    return "\n".join(h) + "\n", "\n".join(c) + "\n"


def emit_all_header(stems):
    L = ["// Every generated Kafka message type.", "#pragma once", "",
         '#include "kwire/proto/api_keys.hpp"']
    L += [f'#include "kwire/proto/messages/{s}.hpp"' for s in stems]
    return "\n".join(L) + "\n"


def emit_api_keys(requests, responses):
    seen = {}
    for m in requests:
        if m.api_key is None:
            raise SchemaError(f"{m.json_name}: request without apiKey")
        if m.api_key in seen:
            raise SchemaError(f"api key {m.api_key} used by {seen[m.api_key]} and {m.json_name}")
        seen[m.api_key] = m.json_name
    rows = []
    for m in requests:
        base = m.json_name[:-len("Request")] if m.json_name.endswith("Request") else m.json_name
        resp = responses.get(m.api_key)
        rflex = resp.flexible if resp is not None else m.flexible
        rows.append((m.api_key, base, ident(base), m.valid or (-1, -1),
                     -1 if m.flexible is None else m.flexible[0],
                     -1 if rflex is None else rflex[0]))
    h = ["// Kafka API keys, names and header versions, for every request schema.",
         "#pragma once", "", "#include <cstdint>", "#include <span>", "#include <string_view>", "",
         "namespace kwire::proto {", "",
         "enum class api_key : std::int16_t {"]
    h += [f"    {e} = {k}," for k, _, e, _, _, _ in rows]
    h += ["};", "",
          "struct api_info {",
          "    std::int16_t key;",
          "    std::string_view name;           // e.g. \"Produce\"",
          "    std::int16_t min_version;        // validVersions of the schema; -1 if none (a removed API)",
          "    std::int16_t max_version;",
          "    std::int16_t first_flexible_request_version;  // -1 if never flexible",
          "    std::int16_t first_flexible_response_version; // -1 if never flexible",
          "};", "",
          "// Every API in the schemas, sorted by key.",
          "std::span<const api_info> all_apis() noexcept;",
          "// nullptr for an unknown key.",
          "const api_info* find_api(std::int16_t key) noexcept;",
          "// \"Produce\", \"Fetch\", ...; \"Unknown\" for an unknown key.",
          "std::string_view api_name(std::int16_t key) noexcept;",
          "// RequestHeader version: 2 for flexible request versions, else 1; -1 for an unknown key.",
          "std::int16_t request_header_version(std::int16_t key, std::int16_t api_version) noexcept;",
          "// ResponseHeader version: 1 for flexible versions, else 0 (always 0 for ApiVersions);",
          "// -1 for an unknown key.",
          "std::int16_t response_header_version(std::int16_t key, std::int16_t api_version) noexcept;",
          "", "} // namespace kwire::proto"]
    c = ['#include "kwire/proto/api_keys.hpp"', "", "#include <algorithm>", "",
         "namespace kwire::proto {", "namespace {", "",
         "constexpr api_info apis[] = {"]
    c += [f'    {{{k}, "{b}", {v[0]}, {v[1]}, {fq}, {fr}}},' for k, b, _, v, fq, fr in rows]
    c += ["};", "", "} // namespace", "",
          "std::span<const api_info> all_apis() noexcept { return apis; }", "",
          "const api_info* find_api(std::int16_t key) noexcept {",
          "    const auto* it = std::lower_bound(std::begin(apis), std::end(apis), key,",
          "                                      [](const api_info& a, std::int16_t k) { return a.key < k; });",
          "    return it != std::end(apis) && it->key == key ? it : nullptr;",
          "}", "",
          "std::string_view api_name(std::int16_t key) noexcept {",
          "    const api_info* a = find_api(key);",
          "    return a ? a->name : std::string_view(\"Unknown\");",
          "}", "",
          "std::int16_t request_header_version(std::int16_t key, std::int16_t api_version) noexcept {",
          "    const api_info* a = find_api(key);",
          "    if (!a) return -1;",
          "    const bool flexible = a->first_flexible_request_version >= 0 && api_version >= a->first_flexible_request_version;",
          "    return flexible ? 2 : 1;",
          "}", "",
          "std::int16_t response_header_version(std::int16_t key, std::int16_t api_version) noexcept {",
          "    const api_info* a = find_api(key);",
          "    if (!a) return -1;",
          "    if (key == 18) return 0; // ApiVersions responses always use header v0",
          "    const bool flexible = a->first_flexible_response_version >= 0 && api_version >= a->first_flexible_response_version;",
          "    return flexible ? 1 : 0;",
          "}", "", "} // namespace kwire::proto"]
    return "\n".join(h) + "\n", "\n".join(c) + "\n"
