#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kreport-scan.py: find kernel error reports in a guest's logs and sort them
by origin.

    scripts/kreport-scan.py [--tap NAME] FILE...

FILE is a console.log, dmesg.txt or kmemleak.txt of a vm-run log directory.
A report is a KASAN, KFENCE, lockdep, sleeping-in-atomic, kmemleak,
hung-task, soft-lockup, RCU-stall, oops, BUG or WARNING block: its first line
and what follows up to the end of its trace.  Each report is printed on its
own line, with its origin:

  target   a frame (or the allocation/free stack) names the storage target
           under test or LIO: vhost_scsi_ng, the in-tree vhost_scsi and the
           vhost core it uses, target_core_*.  These fail the scan.
  kernel   no such frame: a report of the kernel or the platform, not from
           our module (for example the debug kernel's boot-time KASAN report
           of Documentation/debug-kernel.md).  Kept and counted, never
           dropped, but not a failure.

  in-tree  a known defect of the in-tree target (KNOWN_INTREE below), with a
           frame of in-tree vhost_scsi and none of ours: reported as
           "in-tree: affected", counted, not a failure (the differential
           run documents the reference, it does not fail on it).

Reports before the module was loaded (the first line that names
vhost_scsi_ng, vhost_scsi or target_core_mod, or a report that says "Not
tainted" while ours is out-of-tree) are marked "before load".

Exit status: 1 when a target report was found, 0 otherwise, 2 on bad usage.
With --tap NAME, prints one TAP line for the whole scan as well.
"""
import re
import signal
import sys

STARTS = [
    r'BUG: KASAN', r'BUG: KFENCE', r'WARNING: possible circular locking',
    r'possible recursive locking detected', r'WARNING: inconsistent lock state',
    r'WARNING: suspicious RCU usage', r'BUG: lock held when returning',
    r'WARNING: bad unlock balance',
    r'BUG: sleeping function called from invalid context',
    r'BUG: scheduling while atomic', r'BUG: workqueue leaked lock',
    r'unreferenced object 0x', r'INFO: task .* blocked for more than',
    r'BUG: soft lockup', r'rcu: INFO: rcu_.* detected stall',
    r'Oops', r'general protection fault', r'BUG: unable to handle',
    r'Kernel panic', r'kernel BUG at', r'WARNING: CPU: [0-9]+ PID: [0-9]+ at',
    r'WARNING: .* at .*\+0x', r'list_(add|del) corruption', r'refcount_t: ',
]
START_RE = re.compile('|'.join('(?:%s)' % s for s in STARTS))
END_RE = re.compile(r'---\[ end trace|^\s*</TASK>\s*$|^\s*$')
TS_RE = re.compile(r'^\[\s*[0-9.]+\]\s?')
TARGET_RE = re.compile(
    r'\[(vhost_scsi_ng|vhost_scsi|vhost|target_core_[a-z_]+)\]'
    r'|(^|[^a-z0-9_])(vhost_scsi|vsng|target_core|transport_generic|core_tmr)'
    r'[a-z0-9_]*\+0x')
LOAD_RE = re.compile(r'vhost_scsi_ng|vhost_scsi\b|target_core_mod|'
                     r'TARGET_CORE\[|vsng: ')
MAX_BLOCK = 120
# Known defects of in-tree 6.12 vhost_scsi: (regex on the report and the
# lines just before it, what it is).
KNOWN_INTREE = [
    (re.compile(r'vhost-scsi detected misaligned IO'),
     'in-tree vhost_scsi WARNs (once per boot) on misaligned guest I/O: '
     'a guest can make the host print a WARNING'),
]
INTREE_FRAME_RE = re.compile(r'\[vhost_scsi\]')
OURS_FRAME_RE = re.compile(r'\[vhost_scsi_ng\]|(^|[^a-z0-9_])vsng[a-z0-9_]*\+0x')


def reports(path):
    """Yield (first line, block lines with the 3 lines before, seen_load_before)."""
    try:
        with open(path, 'rb') as f:
            lines = [TS_RE.sub('', l.decode('utf-8', 'replace').rstrip('\n'))
                     for l in f]
    except OSError:
        return
    loaded = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if not START_RE.search(line):
            if LOAD_RE.search(line):
                loaded = True
            i += 1
            continue
        block = [line]
        j = i + 1
        while j < len(lines) and len(block) < MAX_BLOCK:
            nxt = lines[j]
            if START_RE.search(nxt) and not nxt.startswith(' '):
                break
            block.append(nxt)
            j += 1
            if END_RE.search(nxt) and len(block) > 3:
                break
        yield line, lines[max(0, i - 3):i] + block, loaded
        i = j


def scan(paths):
    found = []
    seen = set()
    for p in paths:
        for first, block, loaded in reports(p):
            text = '\n'.join(block)
            origin = 'target' if TARGET_RE.search(text) else 'kernel'
            known = ''
            if origin == 'target' and INTREE_FRAME_RE.search(text) and \
                    not OURS_FRAME_RE.search(text):
                for pat, what in KNOWN_INTREE:
                    if pat.search(text):
                        origin, known = 'in-tree', what
                        break
            before = not loaded or ('Not tainted' in text and
                                    'vhost_scsi_ng' not in text)
            key = (origin, first)
            if key in seen:
                continue
            seen.add(key)
            frame = TARGET_RE.search(text)
            found.append((origin, before, p, first,
                          known or (frame.group(0).strip() if frame else '')))
    return found


def main(argv):
    tap = None
    if len(argv) >= 2 and argv[0] == '--tap':
        tap, argv = argv[1], argv[2:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    found = scan(argv)
    ntarget = sum(1 for f in found if f[0] == 'target')
    nintree = sum(1 for f in found if f[0] == 'in-tree')
    nkernel = len(found) - ntarget - nintree
    for origin, before, path, first, frame in found:
        when = ', before load' if before else ''
        if origin == 'in-tree':
            print('# %s: in-tree: affected (a known defect of in-tree vhost_scsi, '
                  'not ours: %s): %s' % (path, frame, first))
        elif origin == 'target':
            print('# %s: REPORT FROM THE TARGET OR LIO (%s): %s'
                  % (path, frame, first))
        else:
            print('# %s: kernel/platform report, not from our module%s: %s'
                  % (path, when, first))
    summary = ('reports by origin: %d from the target or LIO, %d kernel/platform, '
               '%d known in-tree defect' % (ntarget, nkernel, nintree))
    if tap:
        print('%s 1 %s: %s' % ('not ok' if ntarget else 'ok', tap, summary))
    else:
        print('# ' + summary)
    return 1 if ntarget else 0


if __name__ == '__main__':
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main(sys.argv[1:]))
