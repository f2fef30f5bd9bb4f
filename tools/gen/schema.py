"""Kafka message schema model for kwire_gen: parsing, version ranges, naming."""

import json
import re

MAX_VERSION = 0x7FFF

INT_TYPES = {
    # json type: (C++ type, reader/writer suffix, min, max)
    "int8": ("std::int8_t", "int8", -(1 << 7), (1 << 7) - 1),
    "int16": ("std::int16_t", "int16", -(1 << 15), (1 << 15) - 1),
    "uint16": ("std::uint16_t", "uint16", 0, (1 << 16) - 1),
    "int32": ("std::int32_t", "int32", -(1 << 31), (1 << 31) - 1),
    "uint32": ("std::uint32_t", "uint32", 0, (1 << 32) - 1),
    "int64": ("std::int64_t", "int64", -(1 << 63), (1 << 63) - 1),
}
SCALAR_TYPES = set(INT_TYPES) | {"bool", "float64"}
ELEMENT_TYPES = set(INT_TYPES) | {"float64", "string", "uuid"}
ALL_PRIMITIVES = ELEMENT_TYPES | {"bool", "bytes", "records"}

CPP_KEYWORDS = set("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t
char16_t char32_t class compl concept const consteval constexpr constinit const_cast
continue co_await co_return co_yield decltype default delete do double dynamic_cast else
enum explicit export extern false float for friend goto if inline int long mutable
namespace new noexcept not not_eq nullptr operator or or_eq private protected public
register reinterpret_cast requires return short signed sizeof static static_assert
static_cast struct switch template this thread_local throw true try typedef typeid
typename union unsigned using virtual void volatile wchar_t while xor xor_eq
final override import module
""".split())

# Member names used by the generated structs themselves.
RESERVED_MEMBERS = {"encode", "decode", "encoded_size", "unknown_tagged"}
RESERVED_TOP = RESERVED_MEMBERS | {"api_key", "min_version", "max_version",
                                   "first_flexible_version", "latest_version_unstable",
                                   "response_type", "request_type"}


class SchemaError(Exception):
    pass


def strip_comments(text):
    """Removes // comments outside JSON strings."""
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
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def ident(name, reserved=()):
    s = snake(name)
    if s in CPP_KEYWORDS or s in reserved:
        s += "_"
    return s


# A version range is None (no versions) or a (lo, hi) tuple, inclusive.
def parse_versions(spec, what):
    if spec is None:
        return None
    if isinstance(spec, int):
        return (spec, spec)
    s = str(spec).strip()
    if s == "none":
        return None
    m = re.fullmatch(r"(\d+)\+", s)
    if m:
        return (int(m.group(1)), MAX_VERSION)
    m = re.fullmatch(r"(\d+)-(\d+)", s)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo > hi:
            raise SchemaError(f"{what}: bad version range {spec!r}")
        return (lo, hi)
    m = re.fullmatch(r"\d+", s)
    if m:
        return (int(s), int(s))
    raise SchemaError(f"{what}: bad version range {spec!r}")


def intersect(a, b):
    if a is None or b is None:
        return None
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return (lo, hi) if lo <= hi else None


def hull(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]))


def contains_all(outer, inner):
    """True if every version in `inner` is in `outer`."""
    if inner is None:
        return True
    if outer is None:
        return False
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def vrange_str(r):
    if r is None:
        return "none"
    if r[1] == MAX_VERSION:
        return f"{r[0]}+"
    return f"{r[0]}-{r[1]}"


def cond(r, possible, var="version"):
    """C++ condition for `version in r`, knowing version is in `possible`."""
    if possible is None:
        return "false"
    x = intersect(r, possible)
    if x is None:
        return "false"
    if x == possible:
        return "true"
    parts = []
    if x[0] > possible[0]:
        parts.append(f"{var} >= {x[0]}")
    if x[1] < possible[1]:
        parts.append(f"{var} <= {x[1]}")
    return " && ".join(parts)


def parse_int(value, what):
    if isinstance(value, bool):
        raise SchemaError(f"{what}: bad integer default {value!r}")
    if isinstance(value, int):
        return value
    s = str(value).strip()
    try:
        if re.fullmatch(r"-?0[0-7]+", s):
            return int(s, 8)
        return int(s, 0)
    except ValueError:
        raise SchemaError(f"{what}: bad integer default {value!r}") from None


class Field:
    def __init__(self, spec, owner_what):
        self.json_name = spec["name"]
        what = f"{owner_what}.{self.json_name}"
        self.what = what
        t = spec["type"]
        self.is_array = t.startswith("[]")
        base = t[2:] if self.is_array else t
        self.type_name = base  # primitive name or struct JSON name
        self.is_struct = base not in ALL_PRIMITIVES
        if self.is_struct and not base[:1].isupper():
            raise SchemaError(f"{what}: unknown type {t!r}")
        if self.is_array and not self.is_struct and base not in ELEMENT_TYPES:
            raise SchemaError(f"{what}: unsupported array element type {base!r}")
        if "versions" not in spec:
            raise SchemaError(f"{what}: no versions")
        self.versions = parse_versions(spec["versions"], what)
        self.nullable = parse_versions(spec.get("nullableVersions"), what)
        self.tagged = parse_versions(spec.get("taggedVersions"), what)
        self.tag = spec.get("tag")
        if (self.tag is None) != (self.tagged is None):
            raise SchemaError(f"{what}: tag and taggedVersions go together")
        if self.tag is not None and (not isinstance(self.tag, int) or self.tag < 0):
            raise SchemaError(f"{what}: bad tag {self.tag!r}")
        self.ignorable = bool(spec.get("ignorable", False))
        self.flexible_override = None
        self.has_flexible_override = "flexibleVersions" in spec
        if self.has_flexible_override:
            self.flexible_override = parse_versions(spec["flexibleVersions"], what)
        if self.nullable is not None and base in SCALAR_TYPES and not self.is_array:
            raise SchemaError(f"{what}: {base} cannot be nullable")
        self.default_raw = spec.get("default")
        self.nested_fields = spec.get("fields")  # inline struct definition
        if self.nested_fields is not None and not self.is_struct:
            raise SchemaError(f"{what}: fields on a non-struct type")
        self.struct = None  # resolved Struct
        self.name = None    # C++ member name, set by the owner
        self._check_default()

    @property
    def is_nullable_type(self):
        return self.nullable is not None

    def _check_default(self):
        d = self.default_raw
        if d is None:
            return
        t = self.type_name
        if self.is_array or self.is_struct or t in ("bytes", "records"):
            if d not in ("null", ""):
                raise SchemaError(f"{self.what}: default not allowed for {t}")
        if d == "null" and not self.is_nullable_type:
            raise SchemaError(f"{self.what}: null default for a non-nullable field")
        if not self.is_array and t in INT_TYPES:
            v = parse_int(d, self.what)
            _, _, lo, hi = INT_TYPES[t]
            if not lo <= v <= hi:
                raise SchemaError(f"{self.what}: default {d!r} out of range")
        if not self.is_array and t == "bool" and str(d).lower() not in ("true", "false"):
            raise SchemaError(f"{self.what}: bad bool default {d!r}")

    @property
    def default_is_null(self):
        return self.default_raw == "null"


class Struct:
    def __init__(self, json_name, fields_spec, owner, what):
        self.json_name = json_name
        self.owner = owner  # Message
        self.what = what
        self.fields = [Field(f, what) for f in fields_spec]
        self.possible = None  # hull of the versions this struct can be encoded at
        self.name = None      # C++ name (nested type name; message name for the root)
        self.is_root = False
        self.can_flex = False


class Message:
    def __init__(self, base, spec):
        self.base = base
        self.json_name = spec["name"]
        what = self.json_name
        self.kind = spec.get("type")
        if self.kind not in ("request", "response", "header", "data"):
            raise SchemaError(f"{what}: unknown type {self.kind!r}")
        self.api_key = spec.get("apiKey")
        if "validVersions" not in spec:
            raise SchemaError(f"{what}: no validVersions")
        # "none" for APIs that were removed (kept for their api key).
        self.valid = parse_versions(spec["validVersions"], what)
        self.flexible = parse_versions(spec.get("flexibleVersions", "none"), what)
        self.latest_unstable = bool(spec.get("latestVersionUnstable", False))
        self.has_fields = "fields" in spec
        self.spec = spec
        self.name = snake(self.json_name)
        self.structs = []  # in definition order (dependencies first), root last
        self.root = None

    def build(self):
        """Resolves struct types and computes version ranges. Only for generated messages."""
        spec = self.spec
        what = self.json_name
        if self.valid is None or not self.has_fields:
            raise SchemaError(f"{what}: no versions or fields to generate")
        by_name = {}
        order = []
        common_specs = {c["name"]: c for c in spec.get("commonStructs", [])}
        common = {}

        def define(json_name, fields_spec, where, is_common=False):
            if json_name in by_name:
                raise SchemaError(f"{where}: struct {json_name} defined more than once")
            s = Struct(json_name, fields_spec, self, where)
            by_name[json_name] = s
            for f in s.fields:
                resolve(f, where)
            order.append(s)
            return s

        def resolve(f, where):
            if not f.is_struct:
                return
            if f.nested_fields is not None:
                f.struct = define(f.type_name, f.nested_fields, f"{where}.{f.json_name}")
            elif f.type_name in common:
                f.struct = common[f.type_name]
            elif f.type_name in common_specs:
                c = common_specs[f.type_name]
                common[f.type_name] = define(c["name"], c["fields"], f"{what}.{c['name']}", True)
                f.struct = common[f.type_name]
            else:
                raise SchemaError(f"{where}.{f.json_name}: unknown struct {f.type_name}")

        for cname in sorted(common_specs):  # deterministic; unused ones are still generated
            if cname not in common:
                c = common_specs[cname]
                common[cname] = define(cname, c["fields"], f"{what}.{cname}", True)
        root = Struct(self.json_name, spec.get("fields", []), self, what)
        root.is_root = True
        for f in root.fields:
            resolve(f, what)
        order.append(root)
        self.root = root
        self.structs = order

        # Version ranges each struct can be encoded at (hull over its uses).
        root.possible = self.valid
        changed = True
        while changed:
            changed = False
            for s in order:
                if s.possible is None:
                    continue
                for f in s.fields:
                    if f.struct is not None:
                        p = hull(f.struct.possible, intersect(s.possible, f.versions))
                        if p != f.struct.possible:
                            f.struct.possible = p
                            changed = True
        for s in order:
            s.can_flex = intersect(self.flexible, s.possible) is not None

        # Names: nested types live flat inside the message struct.
        top_members = set()
        root.name = self.name
        for s in order:
            reserved = RESERVED_TOP if s.is_root else RESERVED_MEMBERS
            seen = set()
            for f in s.fields:
                f.name = ident(f.json_name, reserved)
                if f.name in seen:
                    raise SchemaError(f"{s.what}: duplicate field {f.json_name}")
                seen.add(f.name)
                if s.is_root:
                    top_members.add(f.name)
            tags = [f.tag for f in s.fields if f.tag is not None]
            if len(tags) != len(set(tags)):
                raise SchemaError(f"{s.what}: duplicate tag")
        used = set()
        for s in order:
            if s.is_root:
                continue
            n = ident(s.json_name, RESERVED_TOP)
            if n in top_members:
                n += "_data"
            if n in used or n == self.name:
                raise SchemaError(f"{s.what}: struct name {n} collides")
            used.add(n)
            s.name = n


def load_schemas(texts):
    out = {}
    for base in sorted(texts):
        try:
            spec = json.loads(strip_comments(texts[base]))
        except json.JSONDecodeError as e:
            raise SchemaError(f"{base}.json: {e}") from None
        if not isinstance(spec, dict) or "name" not in spec:
            raise SchemaError(f"{base}.json: not a message schema")
        m = Message(base, spec)
        out[m.json_name] = m
    return out
