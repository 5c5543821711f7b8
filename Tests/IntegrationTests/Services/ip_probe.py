#!/usr/bin/python3
"""Connects to TCP addresses and says on stdout what the kernel answered, one line each:

    ip_probe.py HOST:PORT...     (an IPv6 HOST in brackets: [::1]:8080)

    ip: HOST:PORT ok|ERRNO|timeout
"""
import errno
import socket
import sys

for argument in sys.argv[1:]:
    host, _, port = argument.rpartition(":")
    family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as connection:
            connection.settimeout(1.5)
            connection.connect((host.strip("[]"), int(port)))
        result = "ok"
    except socket.timeout:
        result = "timeout"
    except OSError as error:
        result = errno.errorcode.get(error.errno, str(error.errno))
    sys.stdout.write("ip: %s %s\n" % (argument, result))
sys.stdout.flush()
