#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""rg-resume.py: what is left to run after the outer guest died of the platform
in the middle of a real-guest phase (scripts/check.sh).

    scripts/rg-resume.py PANICKED-LOG KEPT-FILE

PANICKED-LOG is the phase's TAP output from the boot that died.
scripts/realguest/run.sh prints "# rg-scenarios: A B C" (the scenarios it
was to run, in order) before the first one and "# rg-done: A" after the
TAP lines of each scenario that ended. This prints the scenarios still to
run (one line, space-separated; empty when every scenario ended) and
writes the TAP result lines of the scenarios that ended (and the SKIP
lines run.sh printed before rg-scenarios) to KEPT-FILE, so
that the rerun counts them once and runs only the rest.

Two scenarios share state within one boot and go together: persist
checks what multilun left (run.sh's RG_KEEP), so multilun is run again
when persist did not end. Exit status 1 (and nothing kept) when the log
has no rg-scenarios line: the caller then runs the whole phase again.
"""
import re
import sys

TAP = re.compile(r'^(not )?ok [0-9]+')


def resume(lines):
    scenarios = None
    start = 0       # the lines before rg-scenarios (CI's SKIP lines) stay
    done = []       # (scenario names, index of the first line after its TAP)
    for i, line in enumerate(lines):
        if line.startswith('# rg-scenarios:') and scenarios is None:
            scenarios = line.split(':', 1)[1].split()
            start = i + 1
        elif line.startswith('# rg-done:'):
            done.append((line.split(':', 1)[1].split(), i + 1))
    if scenarios is None:
        return None, []
    names = [n for names, _ in done for n in names]
    if ('persist' in scenarios and 'multilun' in names and
            'persist' not in names):
        while done and 'multilun' not in done[-1][0]:
            done.pop()
        if done:
            done.pop()
    ended = {n for names, _ in done for n in names}
    cut = done[-1][1] if done else start
    kept = [ln for ln in lines[:cut] if TAP.match(ln)]
    left = [s for s in scenarios if s not in ended]
    return left, kept


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], errors='replace') as f:
        lines = f.read().splitlines()
    left, kept = resume(lines)
    if left is None:
        open(sys.argv[2], 'w').close()
        return 1
    with open(sys.argv[2], 'w') as f:
        for ln in kept:
            f.write(ln + '\n')
    print(' '.join(left))
    return 0


if __name__ == '__main__':
    sys.exit(main())
