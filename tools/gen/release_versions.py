#!/usr/bin/env python3
"""Writes kwire's table of the newest request version each Kafka release offers.

For every Kafka minor release in RELEASES, the request schemas
(common/message/*Request.json) are read from that release's kafka-clients jar
in the local Maven repository (fetched with mvn when missing). Each request
contributes its apiKey and the top of its validVersions, minus one when the
schema marks its newest version unstable ("latestVersionUnstable": true) since
a release's brokers do not offer it; an API whose validVersions is "none", or
whose only version is unstable, is left out (the release does not offer it).

Output (deterministic, committed):
  proto/include/kwire/proto/release_versions.hpp
  proto/src/release_versions.cpp

Usage:
  tools/gen/release_versions.py [--repo DIR] [--m2 DIR] [--no-fetch]
  tools/gen/release_versions.py --probe-patches   # newest patch of each minor
"""

import argparse
import json
import os
import subprocess
import sys
import zipfile

# Kafka minor release -> the patch version read: the newest patch of that minor
# that Maven resolved when the table was generated (see --probe-patches).
RELEASES = [
    ("2.4", "2.4.1"),
    ("2.5", "2.5.1"),
    ("2.6", "2.6.3"),
    ("2.7", "2.7.2"),
    ("2.8", "2.8.2"),
    ("3.0", "3.0.2"),
    ("3.1", "3.1.2"),
    ("3.2", "3.2.3"),
    ("3.3", "3.3.2"),
    ("3.4", "3.4.1"),
    ("3.5", "3.5.2"),
    ("3.6", "3.6.2"),
    ("3.7", "3.7.2"),
    ("3.8", "3.8.1"),
    ("3.9", "3.9.2"),
    ("4.0", "4.0.2"),
    ("4.1", "4.1.2"),
    ("4.2", "4.2.2"),
    ("4.3", "4.3.1"),
    ("4.4", "4.4.0"),
]

GROUP_PATH = os.path.join("org", "apache", "kafka", "kafka-clients")
PAIRS_PER_LINE = 8


def default_m2():
    return os.path.join(os.path.expanduser("~"), ".m2", "repository")


def jar_path(m2, version):
    return os.path.join(m2, GROUP_PATH, version, "kafka-clients-%s.jar" % version)


def mvn_get(version):
    """True when Maven resolves kafka-clients `version` (and it is now local)."""
    cmd = ["mvn", "-q", "-B", "dependency:get",
           "-Dartifact=org.apache.kafka:kafka-clients:%s" % version, "-Dtransitive=false"]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return done.returncode == 0


def strip_comments(text):
    """Removes // comments (to the end of the line) outside JSON strings."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
            continue
        if c == '"':
            in_string = True
            out.append(c)
            i += 1
            continue
        if c == "/" and i + 1 < n and text[i + 1] == "/":
            end = text.find("\n", i)
            if end < 0:
                break
            i = end  # keep the newline
            continue
        out.append(c)
        i += 1
    return "".join(out)


def top_version(valid):
    """Highest version of a validVersions value ("0-9", "3", "none")."""
    valid = valid.strip()
    if valid == "none":
        return None, None
    low, _, high = valid.partition("-")
    low = int(low)
    return low, int(high) if high else low


def read_release(jar):
    """{api_key: newest stable version} from the request schemas in `jar`."""
    caps = {}
    with zipfile.ZipFile(jar) as z:
        names = sorted(n for n in z.namelist()
                       if n.startswith("common/message/") and n.endswith("Request.json"))
        if not names:
            raise SystemExit("release_versions: no request schemas in %s" % jar)
        for name in names:
            text = strip_comments(z.read(name).decode("utf-8")).lstrip()
            # The first JSON value only, as Kafka's own generator reads it:
            # some shipped schemas (2.8's DescribeProducersRequest) carry
            # stray closing brackets after it.
            schema, _ = json.JSONDecoder().raw_decode(text)
            if schema.get("type") != "request" or "apiKey" not in schema:
                continue
            key = int(schema["apiKey"])
            low, high = top_version(str(schema.get("validVersions", "none")))
            if high is None:
                continue
            if schema.get("latestVersionUnstable") is True:
                high -= 1
            if high < low:
                continue
            if key in caps:
                raise SystemExit("release_versions: api key %d twice in %s" % (key, jar))
            caps[key] = high
    return caps


def wrap_list(items, width=100, indent="// "):
    lines, line = [], ""
    for item in items:
        piece = item if not line else " " + item
        if len(indent) + len(line) + len(piece) > width:
            lines.append(indent + line)
            line = item
        else:
            line += piece
    if line:
        lines.append(indent + line)
    return "\n".join(lines) + "\n"


def render(tables):
    first, last = RELEASES[0][0], RELEASES[-1][0]
    patch_items = ["%s," % v for _, v in RELEASES]
    patch_items[-1] = patch_items[-1].rstrip(",") + "."
    head = ("// Generated by tools/gen/release_versions.py from the kafka-clients jars of Kafka %s to %s. Do not edit.\n"
            "// The newest stable version of every request API that each Kafka release\n"
            "// offers, for api.version.pin=broker:X.Y. Patch versions read:\n" % (first, last))
    head += wrap_list(patch_items)

    hpp = head + """#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace kwire::proto {

// The newest version of `api_key` that Kafka `release` ("X.Y", e.g. "2.8")
// offers, -1 when that release does not offer the API at all; nullopt when
// the release is not in the table.
std::optional<std::int16_t> release_max_version(std::string_view release, std::int16_t api_key);

// Whether `release` ("X.Y") is in the table.
bool is_known_release(std::string_view release);

// Every release in the table, oldest first ("%s" to "%s").
std::span<const std::string_view> known_releases();

} // namespace kwire::proto
""" % (first, last)

    body = [head, '#include "kwire/proto/release_versions.hpp"\n\n#include <iterator>\n\n',
            "namespace kwire::proto {\nnamespace {\n\n",
            "struct api_cap {\n    std::int16_t api_key;\n    std::int16_t max_version;\n};\n\n",
            "// (api key, newest version) by api key, for each release.\n"]
    for release, version in RELEASES:
        caps = tables[release]
        ident = "kafka_" + release.replace(".", "_")
        body.append("constexpr api_cap %s[] = {  // %s\n" % (ident, version))
        pairs = ["{%d, %d}," % (k, caps[k]) for k in sorted(caps)]
        for i in range(0, len(pairs), PAIRS_PER_LINE):
            body.append("    " + " ".join(pairs[i:i + PAIRS_PER_LINE]) + "\n")
        body.append("};\n")
    body.append("\nconstexpr std::string_view release_names[] = {\n")
    names = ['"%s",' % r for r, _ in RELEASES]
    for i in range(0, len(names), 10):
        body.append("    " + " ".join(names[i:i + 10]) + "\n")
    body.append("};\n\n")
    body.append("constexpr std::span<const api_cap> release_caps[] = {\n")
    idents = ["kafka_%s," % r.replace(".", "_") for r, _ in RELEASES]
    for i in range(0, len(idents), 6):
        body.append("    " + " ".join(idents[i:i + 6]) + "\n")
    body.append("};\n\n")
    body.append("""static_assert(std::size(release_names) == std::size(release_caps));

const std::span<const api_cap>* find_release(std::string_view release) {
    for (std::size_t i = 0; i < std::size(release_names); ++i)
        if (release_names[i] == release) return &release_caps[i];
    return nullptr;
}

} // namespace

std::optional<std::int16_t> release_max_version(std::string_view release, std::int16_t api_key) {
    const auto* caps = find_release(release);
    if (!caps) return std::nullopt;
    for (const auto& c : *caps)
        if (c.api_key == api_key) return c.max_version;
    return std::int16_t{-1};
}

bool is_known_release(std::string_view release) { return find_release(release) != nullptr; }

std::span<const std::string_view> known_releases() { return release_names; }

} // namespace kwire::proto
""")
    return hpp, "".join(body)


def probe_patches():
    """Prints the newest patch of each minor in RELEASES that Maven resolves."""
    for release, _ in RELEASES:
        newest, patch = None, 0
        while mvn_get("%s.%d" % (release, patch)):
            newest = "%s.%d" % (release, patch)
            patch += 1
        print("%s %s" % (release, newest or "none"))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default=os.path.normpath(os.path.join(here, "..", "..")),
                    help="repository root to write into")
    ap.add_argument("--m2", default=default_m2(), help="local Maven repository")
    ap.add_argument("--no-fetch", action="store_true", help="do not run mvn for missing jars")
    ap.add_argument("--probe-patches", action="store_true",
                    help="print the newest patch of each minor release and exit")
    args = ap.parse_args()

    if args.probe_patches:
        probe_patches()
        return 0

    tables = {}
    for release, version in RELEASES:
        jar = jar_path(args.m2, version)
        if not os.path.isfile(jar) and not args.no_fetch:
            mvn_get(version)
        if not os.path.isfile(jar):
            print("release_versions: no kafka-clients %s jar at %s" % (version, jar), file=sys.stderr)
            return 1
        tables[release] = read_release(jar)

    hpp, cpp = render(tables)
    outputs = {
        os.path.join("proto", "include", "kwire", "proto", "release_versions.hpp"): hpp,
        os.path.join("proto", "src", "release_versions.cpp"): cpp,
    }
    for rel, text in outputs.items():
        path = os.path.join(args.repo, rel)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        print("release_versions: wrote %s" % rel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
