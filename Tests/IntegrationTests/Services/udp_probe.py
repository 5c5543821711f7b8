#!/usr/bin/python3
"""Receives datagrams on 127.0.0.1:PORT and says on stdout what arrived:

    udp_probe.py PORT LAST

prints "udp: ready" once bound, then "udp: PAYLOAD" for each datagram until one is LAST.
"""
import socket
import sys

port, last = int(sys.argv[1]), sys.argv[2].encode()
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
    receiver.bind(("127.0.0.1", port))
    sys.stdout.write("udp: ready\n")
    sys.stdout.flush()
    while True:
        payload = receiver.recv(64)
        sys.stdout.write("udp: %s\n" % payload.decode(errors="replace"))
        sys.stdout.flush()
        if payload == last:
            break
