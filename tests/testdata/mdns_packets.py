"""Sends hostile or forged multicast DNS packets, for tests/discovery_test.ts
(issue 10), only ever run inside a network namespace the test made.

  mdns_packets.py garbage IFACE_ADDRESS TARGET_ADDRESS
      malformed and oversized packets to TARGET:5353 and to the mDNS group,
      then a burst of valid queries (bounded: a few hundred packets in all)
  mdns_packets.py forge IFACE_ADDRESS CLAIMED_ADDRESS SECONDS
      announces a room "fake" (host mallory, 99 online) whose A record claims
      CLAIMED_ADDRESS, three times a second for SECONDS
Prints "sent N" at the end.
"""
import random
import socket
import struct
import sys
import time

GROUP = "224.0.0.251"
PORT = 5353


def name(text):
    out = b""
    for label in text.split("."):
        data = label.encode()
        out += bytes([len(data)]) + data
    return out + b"\x00"


def record(owner, rtype, ttl, rdata, flush=False):
    klass = 1 | (0x8000 if flush else 0)
    return name(owner) + struct.pack("!HHIH", rtype, klass, ttl, len(rdata)) + rdata


def query(questions):
    header = struct.pack("!HHHHHH", 0, 0, len(questions), 0, 0, 0)
    return header + b"".join(name(q) + struct.pack("!HH", 12, 1) for q in questions)


def open_socket(iface_address):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface_address))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    return sock


def garbage(iface_address, target):
    sock = open_socket(iface_address)
    rng = random.Random(10)
    packets = []
    for _ in range(60):
        packets.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600))))
    # A header promising 65535 questions and nothing after it.
    packets.append(struct.pack("!HHHHHH", 0, 0, 65535, 65535, 65535, 65535))
    # A name whose compression pointer points at itself.
    packets.append(struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 0) + b"\xc0\x0c\x00\x0c\x00\x01")
    # A response whose records run past the end of the packet.
    packets.append(struct.pack("!HHHHHH", 0, 0x8400, 0, 3, 0, 0) + name("_classchat._tcp.local") + b"\x00\x0c\x00\x01\x00\x00\x00\x78\x00\xff")
    # Oversized: a valid query padded to 60 000 bytes.
    packets.append(query(["_classchat._tcp.local"]) + b"\x00" * 60000)
    # Hundreds of questions in one packet.
    packets.append(query(["_classchat._tcp.local"] * 300))
    # A TXT record of 255 single bytes and a SRV with port 0, as a "response".
    txt = b"".join(b"\x01" + bytes([rng.randrange(256)]) for _ in range(255))
    packets.append(struct.pack("!HHHHHH", 0, 0x8400, 0, 2, 0, 0)
                   + record("x._classchat._tcp.local", 16, 120, txt)
                   + record("x._classchat._tcp.local", 33, 120, struct.pack("!HHH", 0, 0, 0) + name("x.local")))
    sent = 0
    for packet in packets:
        for destination in (target, GROUP):
            try:
                sock.sendto(packet, (destination, PORT))
                sent += 1
            except OSError:
                pass  # e.g. too big for the link: the rest still go
    # A burst of valid queries: answers must stay rate-limited.
    for _ in range(200):
        sock.sendto(query(["_classchat._tcp.local"]), (GROUP, PORT))
        sent += 1
    print("sent %d" % sent, flush=True)


def forge(iface_address, claimed, seconds):
    sock = open_socket(iface_address)
    instance = "fake._classchat._tcp.local"
    txt = b"".join(bytes([len(e)]) + e for e in [b"v=1", b"room=fake", b"host=mallory", b"online=99"])
    answers = [
        record("_classchat._tcp.local", 12, 4500, name(instance)),
        record(instance, 33, 120, struct.pack("!HHH", 0, 0, 5000) + name("fake-host.local"), True),
        record(instance, 16, 4500, txt, True),
        record("fake-host.local", 1, 120, socket.inet_aton(claimed), True),
    ]
    packet = struct.pack("!HHHHHH", 0, 0x8400, 0, len(answers), 0, 0) + b"".join(answers)
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end and sent < 1000:
        sock.sendto(packet, (GROUP, PORT))
        sent += 1
        time.sleep(0.3)
    print("sent %d" % sent, flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "garbage":
        garbage(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "forge":
        forge(sys.argv[2], sys.argv[3], float(sys.argv[4]))
