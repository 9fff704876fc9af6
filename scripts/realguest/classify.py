#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""classify.py: is a silent inner guest our target's fault?

    scripts/realguest/classify.py queues BEFORE AFTER

BEFORE and AFTER are two snapshots of our module's debugfs ring state for
one QEMU, taken a few seconds apart while that QEMU is still alive and its
inner guest has been silent past its timeout (lib.sh rg_vq_snapshot): each
queue as a line "== .../vhost-scsi-ng/<pid>-<dev>/vqN" followed by its
"name value" lines.

The target is stuck (exit 1, one line per reason) when, in BOTH snapshots,
a set-up queue (kick_fd 1) has:
  - requests in flight (inflight > 0) and its completions counter did not
    move between the snapshots: popped requests we never answered;
  - unconsumed avail entries (avail_idx != last_avail_idx, both as our
    module last read them) and last_avail_idx did not move: requests we saw
    and did not take.  Not on vq1, the event queue: the guest keeps event
    buffers there for us to take only when an event happens;
  - used entries written but not published (pending_used > 0, unchanged).
Otherwise (exit 0) nothing of ours is pending: the silence is the
platform's (see Documentation/realguest-tests.md, "Platform failures").
A queue that exists in only one snapshot, or whose counters were reset in
between (a device reset), is not judged.  Exit 2: bad usage or no queue.
"""
import sys


def parse(path):
    queues = {}
    cur = None
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.strip()
            if line.startswith('== '):
                name = line[3:].strip()
                parts = name.split('/')
                cur = queues.setdefault('/'.join(parts[-2:]), {})
                continue
            if cur is None or not line:
                continue
            k, _, v = line.partition(' ')
            try:
                cur[k] = int(v, 0)
            except ValueError:
                pass
    return queues


def stuck(before, after):
    """Reasons (strings) why the target holds up the guest; empty: none."""
    why = []
    for q in sorted(after, key=lambda s: (s.split('/')[0], int(s.rsplit('vq', 1)[1] or 0))):
        a, b = after[q], before.get(q)
        if b is None or not a.get('kick_fd') or not b.get('kick_fd'):
            continue
        if a.get('requests', 0) < b.get('requests', 0):
            continue		# counters reset: the device was reset between
        vqn = q.rsplit('vq', 1)[1]
        same_compl = a.get('completions') == b.get('completions')
        if a.get('inflight', 0) > 0 and b.get('inflight', 0) > 0 and same_compl:
            why.append('%s: %d request(s) in flight, no completion between the snapshots'
                       % (q, a['inflight']))
        if (vqn != '1' and a.get('avail_idx') != a.get('last_avail_idx') and
                b.get('avail_idx') != b.get('last_avail_idx') and
                a.get('last_avail_idx') == b.get('last_avail_idx')):
            why.append('%s: %d avail entries not consumed (avail_idx %d, last_avail_idx %d)'
                       % (q, (a['avail_idx'] - a['last_avail_idx']) & 0xffff,
                          a['avail_idx'], a['last_avail_idx']))
        if a.get('pending_used', 0) > 0 and a.get('pending_used') == b.get('pending_used') \
                and same_compl:
            why.append('%s: %d used entries never published' % (q, a['pending_used']))
        if why and why[-1].startswith(q + ':') and a.get('broken'):
            why[-1] += ' (ring marked broken)'
    return why


def main(argv):
    if len(argv) != 3 or argv[0] != 'queues':
        print(__doc__, file=sys.stderr)
        return 2
    try:
        before, after = parse(argv[1]), parse(argv[2])
    except OSError as e:
        print('# classify: %s' % e)
        return 2
    if not after:
        print('# classify: no queue in the snapshot')
        return 2
    why = stuck(before, after)
    for w in why:
        print('STUCK ' + w)
    if not why:
        print('# classify: no request of the inner guest pending in our queues')
    return 1 if why else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
