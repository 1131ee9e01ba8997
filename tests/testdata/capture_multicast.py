"""Prints every multicast or broadcast frame, and every mDNS packet (UDP to
or from port 5353, unicast too), seen on any interface of this network
namespace, one line each, until stdin ends or SECONDS pass.

Used by tests/discovery_test.ts (issue 10) inside a namespace the test made:
a raw AF_PACKET socket sees every frame sent or received, whatever sent it.
Prints "ready" once capturing, then lines like
  OUT vc1a 01:00:5e:00:00:fb ipv4 198.18.5.1 -> 224.0.0.251 udp 5353>5353
and "done N" at the end (N frames reported).
"""
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
print("ready", flush=True)
deadline = time.monotonic() + seconds
reported = 0
stdin_open = True
while time.monotonic() < deadline:
    watched = [capture] + ([sys.stdin] if stdin_open else [])
    readable, _, _ = select.select(watched, [], [], max(0.0, deadline - time.monotonic()))
    if sys.stdin in readable:
        if sys.stdin.readline() == "":
            break
    if capture not in readable:
        continue
    frame, (ifname, proto, pkttype, _, _) = capture.recvfrom(65535)
    if len(frame) < 14:
        continue
    dst_mac = frame[0:6]
    ethertype = struct.unpack("!H", frame[12:14])[0]
    mac_group = dst_mac[0] & 1 == 1
    detail = "other 0x%04x" % ethertype
    ip_group = False
    mdns = False
    if ethertype == 0x0800 and len(frame) >= 34:
        header = frame[14:]
        src = socket.inet_ntoa(header[12:16])
        dst = socket.inet_ntoa(header[16:20])
        first = header[16]
        ip_group = first >= 224 or dst.endswith(".255")
        protocol = header[9]
        ihl = (header[0] & 0x0F) * 4
        port = ""
        if protocol == 17 and len(header) >= ihl + 4:
            sport, dport = struct.unpack("!HH", header[ihl:ihl + 4])
            port = "udp %d>%d" % (sport, dport)
            mdns = 5353 in (sport, dport)
        elif protocol == 2:
            port = "igmp"
        else:
            port = "proto %d" % protocol
        detail = "ipv4 %s -> %s %s" % (src, dst, port)
    elif ethertype == 0x0806:
        detail = "arp"
    elif ethertype == 0x86DD:
        detail = "ipv6"
    if mac_group or ip_group or mdns:
        direction = "OUT" if pkttype == PACKET_OUTGOING else "IN"
        mac = ":".join("%02x" % byte for byte in dst_mac)
        print("%s %s %s %s" % (direction, ifname, mac, detail), flush=True)
        reported += 1
print("done %d" % reported, flush=True)
