#!/usr/bin/env python3
"""A recording TCP proxy for the Kafka wire protocol (standard library only).

kwire's golden tests compare its codecs with bytes that Kafka's own Java
clients and broker put on the wire. This proxy sits between the two on
loopback and records every request frame together with its response frame.

  kafka_capture_proxy.py proxy --listen 33097=127.0.0.1:33092 [--listen ...] --out RAWDIR
      Forwards each listen port to its target. For every request it writes
      RAWDIR/<seq>-c<conn>-<ApiName>-v<N>-request.bin and, when the answer
      comes, the matching -response.bin (paired by correlation id). The files
      hold the frame without its 4-byte size: header + body. Runs until
      SIGINT/SIGTERM. A frame's first bytes after the header of a SASL
      handshake v0 exchange are not Kafka frames; Java clients use v1, where
      every SASL token travels in a SaslAuthenticate request, so framing holds.

  kafka_capture_proxy.py select --raw RAWDIR --out GOLDENDIR [--apis Name,Name...]
                               [--max-response-bytes N] [--client-id-prefix P,...]
      Picks one request/response pair per (API, version) from RAWDIR and copies
      it to GOLDENDIR/<ApiName>-v<N>-request.bin / -response.bin. Among the
      pairs of one (API, version) it keeps the one with the largest response
      that is at most --max-response-bytes (default 8192), so that e.g. the
      Fetch pair carries records and the Metadata pair carries the topic.
      --apis limits the output to the APIs kwire has codecs for.

TLS listeners cannot be recorded (the proxy would only see ciphertext).
"""

import argparse
import itertools
import os
import re
import select as select_mod
import signal
import socket
import struct
import sys
import threading

# Kafka API keys -> names as in Kafka's protocol guide (and kwire::proto::api_name).
API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit",
    9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat",
    13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups", 16: "ListGroups",
    17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
    21: "DeleteRecords", 22: "InitProducerId", 23: "OffsetForLeaderEpoch",
    24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn", 26: "EndTxn", 28: "TxnOffsetCommit",
    29: "DescribeAcls", 30: "CreateAcls", 31: "DeleteAcls", 32: "DescribeConfigs",
    33: "AlterConfigs", 35: "DescribeLogDirs", 36: "SaslAuthenticate", 37: "CreatePartitions",
    42: "DeleteGroups", 43: "ElectLeaders", 44: "IncrementalAlterConfigs", 47: "OffsetDelete",
    60: "DescribeCluster", 61: "DescribeProducers", 65: "DescribeTransactions",
    66: "ListTransactions", 68: "ConsumerGroupHeartbeat", 69: "ConsumerGroupDescribe",
    71: "GetTelemetrySubscriptions", 72: "PushTelemetry", 75: "DescribeTopicPartitions",
}
NAME_TO_KEY = {v: k for k, v in API_NAMES.items()}


def api_name(key):
    return API_NAMES.get(key, f"ApiKey{key}")


def log(msg):
    print(f"capture-proxy: {msg}", file=sys.stderr, flush=True)


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame(sock):
    """One size-prefixed Kafka frame without its size, or None at EOF."""
    size = recv_exact(sock, 4)
    if size is None:
        return None
    (n,) = struct.unpack(">i", size)
    if n < 0 or n > 256 * 1024 * 1024:
        raise ValueError(f"implausible frame size {n}")
    body = recv_exact(sock, n)
    if body is None:
        raise ValueError("connection closed inside a frame")
    return body


class Recorder:
    def __init__(self, out):
        self.out = out
        self.seq = itertools.count(1)
        self.conn_ids = itertools.count(1)
        self.lock = threading.Lock()
        os.makedirs(out, exist_ok=True)

    def write(self, name, data):
        tmp = os.path.join(self.out, "." + name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.out, name))


class Session:
    """One proxied client connection: two pumps sharing the in-flight table."""

    def __init__(self, recorder, client, target):
        self.rec = recorder
        self.client = client
        self.upstream = socket.create_connection(target)
        self.conn = next(recorder.conn_ids)
        self.inflight = {}  # correlation id -> file stem
        self.lock = threading.Lock()

    def run(self):
        t = threading.Thread(target=self.pump_responses, daemon=True)
        t.start()
        try:
            self.pump_requests()
        finally:
            t.join()
            for s in (self.client, self.upstream):
                try:
                    s.close()
                except OSError:
                    pass

    def shutdown(self):
        for s in (self.client, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def pump_requests(self):
        try:
            while True:
                frame = read_frame(self.client)
                if frame is None:
                    break
                if len(frame) >= 8:
                    key, version, corr = struct.unpack(">hhi", frame[:8])
                    stem = f"{next(self.rec.seq):05d}-c{self.conn}-{api_name(key)}-v{version}"
                    self.rec.write(stem + "-request.bin", frame)
                    with self.lock:
                        self.inflight[corr] = stem
                self.upstream.sendall(struct.pack(">i", len(frame)) + frame)
        except (OSError, ValueError) as e:
            log(f"connection {self.conn}: request side: {e}")
        finally:
            try:
                self.upstream.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def pump_responses(self):
        try:
            while True:
                frame = read_frame(self.upstream)
                if frame is None:
                    break
                if len(frame) >= 4:
                    (corr,) = struct.unpack(">i", frame[:4])
                    with self.lock:
                        stem = self.inflight.pop(corr, None)
                    if stem is None:
                        log(f"connection {self.conn}: response with unknown correlation id {corr}")
                    else:
                        self.rec.write(stem + "-response.bin", frame)
                self.client.sendall(struct.pack(">i", len(frame)) + frame)
        except (OSError, ValueError) as e:
            log(f"connection {self.conn}: response side: {e}")
        finally:
            try:
                self.client.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def cmd_proxy(args):
    rec = Recorder(args.out)
    listeners = {}
    for spec in args.listen:
        m = re.fullmatch(r"(\d+)=([^:]+):(\d+)", spec)
        if not m:
            sys.exit(f"bad --listen {spec!r} (want PORT=HOST:PORT)")
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((args.bind, int(m.group(1))))
        s.listen(64)
        listeners[s] = (m.group(2), int(m.group(3)))
        log(f"{args.bind}:{m.group(1)} -> {m.group(2)}:{m.group(3)}")

    stop = threading.Event()
    sessions = []

    def on_signal(*_):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write(f"{os.getpid()}\n")
    while not stop.is_set():
        try:
            ready, _, _ = select_mod.select(list(listeners), [], [], 0.2)
        except InterruptedError:
            continue
        for s in ready:
            client, _ = s.accept()
            try:
                session = Session(rec, client, listeners[s])
            except OSError as e:
                log(f"cannot reach {listeners[s]}: {e}")
                client.close()
                continue
            sessions.append(session)
            threading.Thread(target=session.run, daemon=True).start()
    for s in listeners:
        s.close()
    for session in sessions:
        session.shutdown()
    log(f"stopped after {len(sessions)} connection(s)")


RAW_RE = re.compile(r"(\d+)-c(\d+)-(\w+)-v(\d+)-request\.bin")


def cmd_select(args):
    wanted = set(args.apis.split(",")) if args.apis else None
    best = {}  # (name, version) -> (response size, seq, stem)
    for fname in sorted(os.listdir(args.raw)):
        m = RAW_RE.fullmatch(fname)
        if not m:
            continue
        name, version = m.group(3), int(m.group(4))
        if wanted is not None and name not in wanted:
            continue
        stem = fname[: -len("-request.bin")]
        resp = os.path.join(args.raw, stem + "-response.bin")
        if not os.path.exists(resp):
            continue  # no answer (acks=0 Produce, or cut off at shutdown)
        size = os.path.getsize(resp)
        if size > args.max_response_bytes:
            continue
        if args.client_id_prefix:
            with open(os.path.join(args.raw, fname), "rb") as f:
                head = f.read(10 + 0x7FFF)
            (n,) = struct.unpack(">h", head[8:10])
            client_id = head[10 : 10 + n].decode("utf-8", "replace") if n >= 0 else ""
            if not any(client_id.startswith(p) for p in args.client_id_prefix.split(",")):
                continue
        key = (name, version)
        cand = (size, -int(m.group(1)), stem)
        if key not in best or cand > best[key]:
            best[key] = cand
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for (name, version), (_, _, stem) in sorted(best.items()):
        for part in ("request", "response"):
            with open(os.path.join(args.raw, f"{stem}-{part}.bin"), "rb") as f:
                data = f.read()
            with open(os.path.join(args.out, f"{name}-v{version}-{part}.bin"), "wb") as f:
                f.write(data)
            total += len(data)
        print(f"{name} v{version}: {stem}")
    if wanted:
        missing = sorted(wanted - {n for n, _ in best})
        if missing:
            print(f"not captured: {', '.join(missing)}")
    print(f"{2 * len(best)} files, {total} bytes -> {args.out}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("proxy", help="run the recording proxy")
    pp.add_argument("--listen", action="append", required=True, metavar="PORT=HOST:PORT")
    pp.add_argument("--bind", default="127.0.0.1")
    pp.add_argument("--out", required=True)
    pp.add_argument("--ready-file", help="written (with our pid) once the ports listen")
    ps = sub.add_parser("select", help="copy one pair per (API, version) into a golden dir")
    ps.add_argument("--raw", required=True)
    ps.add_argument("--out", required=True)
    ps.add_argument("--apis", help="comma-separated API names to keep")
    ps.add_argument("--max-response-bytes", type=int, default=8192)
    ps.add_argument("--client-id-prefix", help="comma-separated client.id prefixes to keep")
    args = p.parse_args()
    {"proxy": cmd_proxy, "select": cmd_select}[args.cmd](args)


if __name__ == "__main__":
    main()
