#!/usr/bin/env python3
"""Readiness/health probe for tools/broker (stdlib only).

Speaks just enough of the Kafka wire protocol to prove that a listener really
serves Kafka, not merely that its port is open:

  plaintext:PORT       ApiVersions v0 (+ Metadata v1 with --expect-brokers)
  ssl:PORT             TLS handshake verified against --ca for --host, then the same
  sasl_plaintext:PORT  SaslHandshake v1 + SaslAuthenticate v1 (PLAIN or SCRAM-SHA-256/512
                       done completely), then ApiVersions v0 (+ Metadata v1)
  sasl_ssl:PORT        TLS, then as sasl_plaintext

Usage:
  probe.py [--host localhost] [--ca CA.pem] [--cert C --key K] [--user U --password P]
           [--mechanism PLAIN] [--expect-brokers N] [--timeout S] [--quiet] TARGET...

Exit status 0 when every target passes; 1 otherwise.  A failed SASL login is
reported as "error_code=58 (SASL_AUTHENTICATION_FAILED)".
"""

import argparse
import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
import sys

API_METADATA = 3
API_SASL_HANDSHAKE = 17
API_API_VERSIONS = 18
API_SASL_AUTHENTICATE = 36

ERROR_NAMES = {
    0: "NONE",
    33: "UNSUPPORTED_SASL_MECHANISM",
    34: "ILLEGAL_SASL_STATE",
    35: "UNSUPPORTED_VERSION",
    58: "SASL_AUTHENTICATION_FAILED",
}


class ProbeError(Exception):
    pass


class KafkaError(ProbeError):
    def __init__(self, what, code, message=None):
        self.code = code
        text = f"{what}: error_code={code} ({ERROR_NAMES.get(code, '?')})"
        if message:
            text += f": {message}"
        super().__init__(text)


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ProbeError("truncated response")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def int64(self):
        return struct.unpack(">q", self.take(8))[0]

    def string(self):  # nullable, int16 length
        n = self.int16()
        return None if n < 0 else self.take(n).decode("utf-8")

    def bytes_(self):  # nullable, int32 length
        n = self.int32()
        return None if n < 0 else self.take(n)


def enc_string(s):
    b = s.encode("utf-8")
    return struct.pack(">h", len(b)) + b


def enc_bytes(b):
    return struct.pack(">i", len(b)) + b


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.correlation_id = 0

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ProbeError("connection closed by broker")
            buf += chunk
        return buf

    def request(self, api_key, api_version, body):
        """Send with request header v1; return the body after response header v0."""
        self.correlation_id += 1
        header = struct.pack(">hhi", api_key, api_version, self.correlation_id) + enc_string("kwire-probe")
        msg = header + body
        self.sock.sendall(struct.pack(">i", len(msg)) + msg)
        size = struct.unpack(">i", self.recv_exact(4))[0]
        r = Reader(self.recv_exact(size))
        if r.int32() != self.correlation_id:
            raise ProbeError("correlation id mismatch")
        return r


def api_versions(conn):
    r = conn.request(API_API_VERSIONS, 0, b"")
    code = r.int16()
    if code != 0:
        raise KafkaError("ApiVersions", code)
    return r.int32()  # number of APIs


def metadata_brokers(conn):
    r = conn.request(API_METADATA, 1, struct.pack(">i", -1))  # null topics = all topics
    brokers = []
    for _ in range(r.int32()):
        node_id, host, port = r.int32(), r.string(), r.int32()
        r.string()  # rack
        brokers.append((node_id, host, port))
    return brokers


def sasl_handshake(conn, mechanism):
    r = conn.request(API_SASL_HANDSHAKE, 1, enc_string(mechanism))
    code = r.int16()
    mechanisms = [r.string() for _ in range(r.int32())]
    if code != 0:
        raise KafkaError(f"SaslHandshake({mechanism}); broker offers {mechanisms}", code)
    return mechanisms


def sasl_authenticate(conn, token):
    r = conn.request(API_SASL_AUTHENTICATE, 1, enc_bytes(token))
    code, message, data = r.int16(), r.string(), r.bytes_()
    r.int64()  # session_lifetime_ms
    if code != 0:
        raise KafkaError("SaslAuthenticate", code, message)
    return data or b""


def sasl_plain(conn, user, password):
    sasl_authenticate(conn, b"\0" + user.encode() + b"\0" + password.encode())


def sasl_scram(conn, mechanism, user, password):
    """RFC 5802 SCRAM client, as Kafka's SCRAM-SHA-256/512 expect."""
    hname = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    h = lambda data: hashlib.new(hname, data).digest()
    mac = lambda key, data: hmac.new(key, data, hname).digest()
    saslname = user.replace("=", "=3D").replace(",", "=2C")
    cnonce = base64.b64encode(os.urandom(18)).decode()
    client_first_bare = f"n={saslname},r={cnonce}"
    server_first = sasl_authenticate(conn, ("n,," + client_first_bare).encode()).decode()
    fields = dict(kv.split("=", 1) for kv in server_first.split(","))
    nonce, salt, iterations = fields["r"], base64.b64decode(fields["s"]), int(fields["i"])
    if not nonce.startswith(cnonce):
        raise ProbeError("SCRAM: server nonce does not extend client nonce")
    salted = hashlib.pbkdf2_hmac(hname, password.encode(), salt, iterations)
    client_key = mac(salted, b"Client Key")
    final_no_proof = f"c=biws,r={nonce}"
    auth_message = f"{client_first_bare},{server_first},{final_no_proof}".encode()
    signature = mac(h(client_key), auth_message)
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    server_final = sasl_authenticate(
        conn, f"{final_no_proof},p={base64.b64encode(proof).decode()}".encode()).decode()
    expected = base64.b64encode(mac(mac(salted, b"Server Key"), auth_message)).decode()
    if server_final != f"v={expected}":
        raise ProbeError(f"SCRAM: bad server signature: {server_final!r}")


def probe(target, args):
    mode, _, port = target.partition(":")
    mode = mode.lower()
    if mode not in ("plaintext", "ssl", "sasl_plaintext", "sasl_ssl") or not port.isdigit():
        raise ProbeError(f"bad target {target!r} (want MODE:PORT)")
    sock = socket.create_connection((args.host, int(port)), timeout=args.timeout)
    try:
        if mode in ("ssl", "sasl_ssl"):
            if not args.ca:
                raise ProbeError("--ca is required for TLS listeners")
            ctx = ssl.create_default_context(cafile=args.ca)
            if args.cert:
                ctx.load_cert_chain(args.cert, args.key)
            sock = ctx.wrap_socket(sock, server_hostname=args.tls_hostname or args.host)
        conn = Conn(sock)
        notes = []
        if mode.startswith("sasl"):
            mech = args.mechanism.upper()
            sasl_handshake(conn, mech)
            if mech == "PLAIN":
                sasl_plain(conn, args.user, args.password)
            elif mech.startswith("SCRAM-"):
                sasl_scram(conn, mech, args.user, args.password)
            else:
                raise ProbeError(f"mechanism {mech} not supported by the probe")
            notes.append(f"sasl {mech} as {args.user!r}")
        notes.append(f"{api_versions(conn)} apis")
        if args.expect_brokers:
            brokers = metadata_brokers(conn)
            notes.append(f"{len(brokers)} brokers")
            if len(brokers) != args.expect_brokers:
                raise ProbeError(f"metadata lists {len(brokers)} brokers, want {args.expect_brokers}")
        return ", ".join(notes)
    finally:
        sock.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="localhost")
    p.add_argument("--tls-hostname", help="name to verify in the broker cert (default: --host)")
    p.add_argument("--ca", default=os.environ.get("KWIRE_CA_FILE"))
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user", default=os.environ.get("KWIRE_SASL_USER"))
    p.add_argument("--password", default=os.environ.get("KWIRE_SASL_PASSWORD"))
    p.add_argument("--mechanism", default="PLAIN")
    p.add_argument("--expect-brokers", type=int, default=0)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("targets", nargs="+", metavar="MODE:PORT")
    args = p.parse_args()
    ok = True
    for t in args.targets:
        try:
            note = probe(t, args)
            if not args.quiet:
                print(f"ok   {t} ({note})")
        except (OSError, ProbeError, ssl.SSLError) as e:
            ok = False
            if not args.quiet:
                print(f"FAIL {t}: {e}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
