"""A tiny DNS client for tests that need exact timing or malformed packets (dig and getent
are used for everything else): build a query, send it over UDP or TCP, parse the answer."""

import os
import random
import socket
import struct
import time

A, PTR, AAAA, TXT = 1, 12, 28, 16


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(name, qtype=A, qid=None, edns=0):
    qid = random.randrange(65536) if qid is None else qid
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    msg += encode_name(name) + struct.pack(">HH", qtype, 1)
    if edns:
        msg += b"\0" + struct.pack(">HHIH", 41, edns, 0, 0)
    return msg


def _name(msg, pos):
    labels, jumped, end = [], False, pos
    for _ in range(128):
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = pos + 2
            jumped = True
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            continue
        if n == 0:
            return ".".join(labels), (end if jumped else pos + 1)
        labels.append(msg[pos + 1:pos + 1 + n].decode(errors="replace"))
        pos += 1 + n
    raise ValueError("name loop")


def parse(msg):
    """Returns {id, rcode, flags, tc, aa, answers: [(type, value)], opt}."""
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    pos, out = 12, {"id": qid, "flags": flags, "rcode": flags & 0xF, "tc": bool(flags & 0x200),
                    "aa": bool(flags & 0x400), "answers": [], "opt": None, "qname": None}
    for _ in range(qd):
        out["qname"], pos = _name(msg, pos)
        pos += 4
    for i in range(an + ns + ar):
        _, pos = _name(msg, pos)
        rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", msg[pos:pos + 10])
        rdata = msg[pos + 10:pos + 10 + rdlen]
        if rtype == A:
            out["answers"].append((A, socket.inet_ntoa(rdata)))
        elif rtype == AAAA:
            out["answers"].append((AAAA, socket.inet_ntop(socket.AF_INET6, rdata)))
        elif rtype == PTR:
            out["answers"].append((PTR, _name(msg, pos + 10)[0]))
        elif rtype == 41:
            out["opt"] = {"udp": rclass, "ext_rcode": ttl >> 24}
        pos += 10 + rdlen
    return out


def udp(server, msg, timeout=2.0, port=53, source=None):
    """Sends raw bytes; returns the raw reply or None on timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        if source:
            s.bind((source, 0))
        s.settimeout(timeout)
        s.sendto(msg, (server, port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


def tcp(server, msg, timeout=3.0, port=53):
    with socket.create_connection((server, port), timeout=timeout) as s:
        s.sendall(struct.pack(">H", len(msg)) + msg)
        head = s.recv(2, socket.MSG_WAITALL)
        (n,) = struct.unpack(">H", head)
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data


def ask(server, name, qtype=A, timeout=2.0, edns=0):
    raw = udp(server, query(name, qtype, edns=edns), timeout)
    return parse(raw) if raw else None


def addresses(reply):
    return [v for t, v in (reply or {}).get("answers", []) if t in (A, AAAA)]


def garbage(n):
    return os.urandom(n)


def time_until(pred, timeout=2.0):
    """Seconds until pred() was first true (polling as fast as it answers), or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if pred():
            return time.monotonic() - start
    return None
