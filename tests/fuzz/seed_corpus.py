#!/usr/bin/env python3
"""Seed corpora for the message fuzz targets from the golden captures.

  seed_corpus.py GOLDEN_DIR OUT_DIR

Writes OUT_DIR/requests/* and OUT_DIR/responses/*: each file is
[api key][version] followed by a captured frame (header + body), the input
format of fuzz_requests / fuzz_responses (see fuzz_messages.hpp); and
OUT_DIR/record_batches/*: [option bits] followed by the v2 record batches
found in the captured frames, as is and re-packed with gzip (fuzz_record_batch).
"""
import pathlib
import re
import struct
import sys
import zlib

KEYS = {
    "Produce": 0, "Fetch": 1, "ListOffsets": 2, "Metadata": 3, "OffsetCommit": 8, "OffsetFetch": 9,
    "FindCoordinator": 10, "JoinGroup": 11, "Heartbeat": 12, "LeaveGroup": 13, "SyncGroup": 14,
    "DescribeGroups": 15, "ListGroups": 16, "SaslHandshake": 17, "ApiVersions": 18, "CreateTopics": 19,
    "DeleteTopics": 20, "InitProducerId": 22, "DescribeConfigs": 32, "SaslAuthenticate": 36,
}


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def record_batches(frame):
    """The magic v2 record batches inside a frame, found by their CRC."""
    i = 0
    while i + 61 <= len(frame):
        (length,) = struct.unpack_from(">i", frame, i + 8)
        end = i + 12 + length
        if frame[i + 16] == 2 and 49 <= length and end <= len(frame):
            (crc,) = struct.unpack_from(">I", frame, i + 17)
            if crc == crc32c(frame[i + 21 : end]):
                yield frame[i:end]
                i = end
                continue
        i += 1


def gzip_batch(batch):
    """The same batch with its records gzip-compressed (attributes codec 1)."""
    head, records = bytearray(batch[:61]), batch[61:]
    if struct.unpack_from(">h", head, 21)[0] & 7:
        return None
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    packed = z.compress(records) + z.flush()
    struct.pack_into(">h", head, 21, struct.unpack_from(">h", head, 21)[0] | 1)
    struct.pack_into(">i", head, 8, len(head) + len(packed) - 12)
    out = head + packed
    struct.pack_into(">I", out, 17, crc32c(out[21:]))
    return bytes(out)


def main():
    golden, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    counts = {"request": 0, "response": 0, "batch": 0}
    for kind in ("requests", "responses", "record_batches"):
        (out / kind).mkdir(parents=True, exist_ok=True)
    for f in sorted(golden.glob("*/*.bin")):
        m = re.fullmatch(r"([A-Za-z]+)-v(\d+)-(request|response)\.bin", f.name)
        if not m or m.group(1) not in KEYS:
            continue
        kind = m.group(3)
        data = bytes([KEYS[m.group(1)], int(m.group(2))]) + f.read_bytes()
        (out / f"{kind}s" / f"{f.parent.name}-{f.name}").write_bytes(data)
        counts[kind] += 1
        for n, batch in enumerate(record_batches(f.read_bytes())):
            stem = f"{f.parent.name}-{f.stem}-{n}"
            (out / "record_batches" / f"{stem}").write_bytes(bytes([1]) + batch)
            (out / "record_batches" / f"{stem}-nocrc").write_bytes(bytes([4]) + batch + batch)
            packed = gzip_batch(batch)
            if packed:
                (out / "record_batches" / f"{stem}-gzip").write_bytes(bytes([3]) + packed)
            counts["batch"] += 1
    print(f"seeds: {counts['request']} requests, {counts['response']} responses, "
          f"{counts['batch']} record batches -> {out}")
    if not all(counts.values()):
        sys.exit("no golden captures found under " + str(golden))


if __name__ == "__main__":
    main()
