#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Ask a QEMU HMP monitor socket (-monitor unix:PATH,server=on,wait=off).

Usage: scripts/qemu-monitor.py SOCKET [COMMAND ...]
Default commands: "info status" and "info registers -a" (HLT=1 in a
vCPU's registers: halted, waiting for an interrupt). Prints the answers
without HMP's echo and without the FPU/vector registers.
"""
import re
import socket
import sys
import time


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmds = sys.argv[2:] or ["info status", "info registers -a"]
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.settimeout(2)
    s.sendall("".join(c + "\n" for c in cmds).encode())
    out = b""
    end = time.time() + 4
    while time.time() < end:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            break
        out += b
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out.decode(errors="replace"))
    for line in text.splitlines():
        if line.startswith("(qemu)") or re.match(
                r"(FPR|YMM|XMM|ZMM|FCW|MXCSR|Opmask)", line):
            continue
        print(line)


if __name__ == "__main__":
    main()
