"""Test-only emission for kwire_gen: populated sample messages (tests/unit/generated/samples.hpp)."""

import zlib

from schema import INT_TYPES, MAX_VERSION, cond
from emit_cpp import cstr, elem_cpp, int_literal, is_optional, parse_int

FULL = (0, MAX_VERSION)


def h(*parts):
    return zlib.crc32(".".join(parts).encode("utf-8"))


def fn_name(msg, s):
    return f"sample_{msg.name}" if s.is_root else f"sample_{msg.name}__{s.name}"


def scalar_value(t, default, seed, what):
    if t == "bool":
        return "false" if str(default).lower() == "true" else "true"
    if t == "float64":
        return f"{seed % 100}.5"
    if t in INT_TYPES:
        d = parse_int(default, what) if default is not None else 0
        v = seed % (100 if t == "int8" else 10000) + 1
        if v == d:
            v += 1
        return int_literal(t, v)
    if t == "string":
        return cstr(f"s{seed % 1000}")
    if t == "uuid":
        return f"uuid_of({seed % 100000}u)"
    raise AssertionError(t)


def value_expr(f, msg, path):
    seed = h(path)
    t = f.type_name
    if f.is_array:
        e = elem_cpp(f, msg)
        if f.is_struct:
            call = f"{fn_name(msg, f.struct)}(version, variant)"
            return f"std::vector<{e}>{{{call}, {call}}}"
        a = scalar_value(t, None, seed, f.what)
        b = scalar_value(t, None, seed + 7, f.what)
        return f"std::vector<{e}>{{{a}, {b}}}"
    if f.is_struct:
        return f"{fn_name(msg, f.struct)}(version, variant)"
    if t == "bytes":
        return f'bytes_of("b{seed % 1000}")'
    if t == "records":
        return f'bytes_of("records-{seed % 1000}")'
    return scalar_value(t, f.default_raw, seed, f.what)


def emit_struct_sample(s, msg):
    q = msg.name if s.is_root else f"{msg.name}::{s.name}"
    L = [f"inline {q} {fn_name(msg, s)}([[maybe_unused]] std::int16_t version, [[maybe_unused]] int variant) {{",
         f"    {q} x;"]
    for f in s.fields:
        pc = cond(f.versions, FULL)
        if pc == "false":
            continue
        v = value_expr(f, msg, f"{msg.name}.{s.json_name}.{f.json_name}")
        nc = cond(f.nullable, FULL) if is_optional(f) else "false"
        if nc != "false":
            nullc = "variant == 1" if nc == "true" else f"variant == 1 && {nc}"
            stmt = f"x.{f.name} = ({nullc}) ? decltype(x.{f.name})() : decltype(x.{f.name})({v});"
        else:
            stmt = f"x.{f.name} = {v};"
        L.append(f"    {stmt}" if pc == "true" else f"    if ({pc}) {stmt}")
    L.append("    return x;")
    L.append("}")
    return L


def emit_absent_cases(msg):
    q = msg.name
    L = ["template <>",
         f"inline std::vector<std::pair<{q}, bool>> absent_field_cases<{q}>([[maybe_unused]] std::int16_t version) {{",
         f"    [[maybe_unused]] const int variant = 0;",
         f"    std::vector<std::pair<{q}, bool>> out;"]
    for f in msg.root.fields:
        if f.is_struct and not f.is_array:
            continue
        pc = cond(f.versions, FULL)
        if pc == "true":
            continue
        v = value_expr(f, msg, f"{msg.name}.{msg.root.json_name}.{f.json_name}")
        guard = "true" if pc == "false" else f"!({pc})"
        L.append(f"    if ({guard}) {{")
        L.append(f"        {q} x;")
        L.append(f"        x.{f.name} = {v};")
        L.append(f"        out.emplace_back(std::move(x), {'true' if f.ignorable else 'false'});")
        L.append("    }")
    L.append("    return out;")
    L.append("}")
    return L


def emit_samples(units):
    L = ["// Test-only: sample messages with every field present at a version set to a",
         "// non-default value (variant 0), or to null where nullable (variant 1).",
         "#pragma once", "", '#include "kwire/proto/messages.hpp"', "",
         "#include <cstdint>", "#include <string_view>", "#include <utility>", "#include <vector>", "",
         "namespace kwire::proto::testing {", "",
         "inline std::vector<std::byte> bytes_of(std::string_view s) {",
         "    std::vector<std::byte> out;",
         "    for (char c : s) out.push_back(static_cast<std::byte>(c));",
         "    return out;",
         "}", "",
         "inline uuid uuid_of(std::uint32_t seed) {",
         "    uuid u;",
         "    for (std::size_t i = 0; i < u.bytes.size(); ++i)",
         "        u.bytes[i] = static_cast<std::byte>((seed >> (8 * (i % 4))) + i + 1);",
         "    return u;",
         "}", "",
         "template <class T>",
         "T sample(std::int16_t version, int variant = 0);", "",
         "// Messages with one top-level field set that `version` cannot carry; the",
         "// bool says whether the field is ignorable (encode must succeed) or not",
         "// (encode must fail with field_not_in_version).",
         "template <class T>",
         "std::vector<std::pair<T, bool>> absent_field_cases(std::int16_t version);", ""]
    names = []
    for _, msgs in units:
        for m in msgs:
            names.append(m.name)
            for s in m.structs:
                L += emit_struct_sample(s, m)
                L.append("")
            L += ["template <>",
                  f"inline {m.name} sample<{m.name}>(std::int16_t version, int variant) {{",
                  f"    return {fn_name(m, m.root)}(version, variant);",
                  "}", ""]
            L += emit_absent_cases(m)
            L.append("")
    L.append("} // namespace kwire::proto::testing")
    L.append("")
    L.append("// Every generated message type, for TEST_CASE_TEMPLATE.")
    L.append("#define KWIRE_GENERATED_MESSAGE_TYPES \\")
    L += [f"    kwire::proto::{n}{', ' if i + 1 < len(names) else ''}\\" for i, n in enumerate(names)]
    L.append("")
    return "\n".join(L) + "\n"
