#!/usr/bin/python3
"""A test service that forks N children that sleep until killed, then says
READY=1 and sleeps itself: a bounded stand-in for a fork bomb.

Usage: many_children.py N
"""
import os
import sys
import time

from systemd import daemon

for _ in range(int(sys.argv[1])):
    if os.fork() == 0:
        while True:
            time.sleep(60)
daemon.notify("READY=1")
while True:
    time.sleep(60)
