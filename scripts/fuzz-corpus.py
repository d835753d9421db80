#!/usr/bin/env python3
"""fuzz-corpus.py DIR: write the fuzzer's seed corpus (awaitkit-fuzz(7)).

Each seed is a small program in the fuzzer's input format: 8 setup bytes
(one per primitive, in the order below; the bounded mpsc's from RDV = 0xf0
on makes the rendezvous, capacity 0), then 2-byte operations: the first
byte is op * 8 + primitive, the second the operand, whose fields each
primitive reads as fuzz/fuzz_*.c says (task t = arg % 3, ...).  arg()
finds an operand byte with the fields asked for.  Seeds named regress-*
reproduce a disagreement the fuzzer once found, minimized: those written
here were library bugs (fixed); those only in fuzz/corpus are inputs that
showed a mistake of the model, kept as they were minimized.
"""
import os
import sys

MPSC_B, MPSC_U, ONESHOT, BCAST, WATCH, MUTEX, SEM, NOTIFY = range(8)


def arg(**want):
    """The smallest operand byte whose fields have the values asked for."""
    fields = {
        't': lambda a: a % 3,                  # task (mpsc, locks, notify)
        'i': lambda a: (a // 3) % 3,           # mpsc sender handle
        'n2': lambda a: 1 + (a // 9) % 2,      # mpsc reserve of 1 or 2
        'n4': lambda a: (a // 3) % 4,          # semaphore permits
        'drop': lambda a: a >> 7,              # the 0x80 bit
        'r': lambda a: a % 3,                  # broadcast / watch receiver
        'rt': lambda a: (a // 3) % 3,          # ... the task that polls
        'ri': lambda a: (a // 9) % 2,          # ... the sender handle
    }
    for a in range(256):
        if all(fields[k](a) == v for k, v in want.items()):
            return a
    raise ValueError(want)


def program(setup, ops):
    out = bytes(setup)
    for prim, op, a in ops:
        out += bytes([op * 8 + prim, a])
    return out


SETUP = [0, 0, 0, 0, 0, 0, 1, 0]   # bounded cap 1, broadcast cap 1, 1 permit
RDV = 0xf0                          # MPSC_B's setup: the rendezvous

SEEDS = {
    # Three senders on a channel of one slot: FIFO hand-over, a receive
    # polled from another task (waker replaced), the last sender's drop.
    'mpsc-fifo-senders': program(SETUP, [
        (MPSC_B, 0, arg(t=0, i=0)), (MPSC_B, 0, arg(t=1, i=0)),
        (MPSC_B, 0, arg(t=2, i=0)), (MPSC_B, 13, 0),
        (MPSC_B, 1, arg(t=1)), (MPSC_B, 13, 0), (MPSC_B, 1, arg(t=2)),
        (MPSC_B, 10, arg(t=0)), (MPSC_B, 11, arg(t=1)), (MPSC_B, 13, 0),
        (MPSC_B, 14, arg(i=0, drop=1)), (MPSC_B, 11, arg(t=2)),
    ]),
    # A grant not yet polled when the last sender goes: the send fails and
    # the receiver waits for it, then ends (ak_mpsc(3)).
    'mpsc-grant-then-close': program(SETUP, [
        (MPSC_B, 0, arg(t=1, i=0)), (MPSC_B, 0, arg(t=0, i=0)),
        (MPSC_B, 10, arg(t=2)), (MPSC_B, 14, arg(i=0, drop=1)),
        (MPSC_B, 1, arg(t=0)), (MPSC_B, 11, arg(t=2)),
    ]),
    # Reserve many, permits, try_reserve, rx_close with a permit out.
    'mpsc-permits': program([3] + SETUP[1:], [
        (MPSC_B, 4, arg(t=0, i=0, n2=2)), (MPSC_B, 4, arg(t=1, i=0, n2=2)),
        (MPSC_B, 7, arg(t=2, i=0)), (MPSC_B, 8, arg(t=0)),
        (MPSC_B, 13, 0), (MPSC_B, 5, arg(t=1)), (MPSC_B, 9, arg(t=0)),
        (MPSC_B, 5, arg(t=1)), (MPSC_B, 15, 0), (MPSC_B, 8, arg(t=1)),
        (MPSC_B, 13, 0), (MPSC_B, 9, arg(t=1)), (MPSC_B, 13, 0),
    ]),
    'mpsc-unbounded': program(SETUP, [
        (MPSC_U, 10, arg(t=0)), (MPSC_U, 14, arg(i=0)),
        (MPSC_U, 0, arg(t=1, i=1)), (MPSC_U, 3, arg(i=0)),
        (MPSC_U, 11, arg(t=2)), (MPSC_U, 13, 0), (MPSC_U, 4, arg(t=0, i=0)),
        (MPSC_U, 14, arg(i=0, drop=1)), (MPSC_U, 10, arg(t=1)),
        (MPSC_U, 14, arg(i=1, drop=1)), (MPSC_U, 11, arg(t=0)),
    ]),
    'oneshot': program(SETUP, [
        (ONESHOT, 4, arg(t=0)), (ONESHOT, 5, arg(t=1)), (ONESHOT, 0, 0),
        (ONESHOT, 5, arg(t=2)), (ONESHOT, 3, 0), (MPSC_B, 31, 0),
        (ONESHOT, 31, 0), (ONESHOT, 4, arg(t=2)), (ONESHOT, 1, 0),
        (ONESHOT, 5, arg(t=2)), (ONESHOT, 31, 0), (ONESHOT, 2, 0),
        (ONESHOT, 0, 0), (ONESHOT, 3, 0),
    ]),
    # Lag: a receiver more than the capacity behind, a parked receive.
    'broadcast-lag': program([0, 0, 0, 1, 0, 0, 0, 0], [
        (BCAST, 2, arg(ri=0)), (BCAST, 0, 0), (BCAST, 0, 0), (BCAST, 0, 0),
        (BCAST, 0, 0), (BCAST, 0, 0), (BCAST, 5, arg(r=0)),
        (BCAST, 5, arg(r=0)), (BCAST, 6, arg(r=1, rt=2)), (BCAST, 5, arg(r=1)),
        (BCAST, 6, arg(r=1, rt=0)), (BCAST, 0, 0), (BCAST, 4, arg(r=0)),
        (BCAST, 1, arg(ri=0)), (BCAST, 1, arg(ri=0) | 0x80),
        (BCAST, 7, arg(r=1, rt=1)), (BCAST, 5, arg(r=1)),
    ]),
    'watch': program(SETUP, [
        (WATCH, 8, arg(r=0, rt=1)), (WATCH, 0, 0), (WATCH, 8, arg(r=0, rt=1)),
        (WATCH, 3, arg(ri=0)), (WATCH, 7, arg(r=1)), (WATCH, 6, arg(r=1)),
        (WATCH, 8, arg(r=1, rt=2)), (WATCH, 8, arg(r=1, rt=2)),
        (WATCH, 5, arg(r=0) | 0x80), (WATCH, 1, 0), (WATCH, 2, 0x80),
        (WATCH, 8, arg(r=1, rt=0)), (WATCH, 6, arg(r=0)),
    ]),
    'mutex-fifo': program(SETUP, [
        (MUTEX, 0, 0), (MUTEX, 0, 1), (MUTEX, 0, 2), (MUTEX, 3, 1),
        (MUTEX, 4, 0), (MUTEX, 2, 1), (MUTEX, 1, 2), (MUTEX, 4, 2),
        (MUTEX, 3, 0), (MUTEX, 4, 0),
    ]),
    # Head-of-line: an acquire of 2 holds back an acquire of 1; close.
    'semaphore-hol': program(SETUP, [
        (SEM, 0, arg(t=0, n4=2)), (SEM, 0, arg(t=1, n4=1)),
        (SEM, 3, arg(t=2, n4=1)), (SEM, 5, arg(t=0, n4=1)),
        (SEM, 1, arg(t=0)), (SEM, 4, arg(t=0)), (SEM, 1, arg(t=1)),
        (SEM, 0, arg(t=0, n4=3)), (SEM, 6, arg(n4=1)), (SEM, 7, 0),
        (SEM, 1, arg(t=0)), (SEM, 8, arg(t=1)), (SEM, 4, arg(t=1)),
    ]),
    # The stored permit, notify_last, notify_waiters, enable, pass-on.
    'notify': program(SETUP, [
        (NOTIFY, 4, 0), (NOTIFY, 4, 0), (NOTIFY, 0, 0), (NOTIFY, 1, 0),
        (NOTIFY, 0, 0), (NOTIFY, 1, 0), (NOTIFY, 0, 1), (NOTIFY, 3, 1),
        (NOTIFY, 0, 2), (NOTIFY, 1, 2), (NOTIFY, 5, 0), (NOTIFY, 2, 2),
        (NOTIFY, 1, 0), (NOTIFY, 0, 2), (NOTIFY, 6, 0), (NOTIFY, 1, 1),
        (NOTIFY, 1, 2),
    ]),
    # The rendezvous: two senders park, a receive asks the first, which is
    # cancelled (the ask passes on); a hand-over; a receive cancelled under
    # an ask (taken back) and a repoll; try_send into a waiting receive;
    # try_recv asking; a permit; close with a sender parked.
    'mpsc-rendezvous': program([RDV] + SETUP[1:], [
        (MPSC_B, 0, arg(t=0, i=0)), (MPSC_B, 0, arg(t=1, i=0)),
        (MPSC_B, 10, arg(t=2)), (MPSC_B, 2, arg(t=0)), (MPSC_B, 1, arg(t=1)),
        (MPSC_B, 11, arg(t=2)), (MPSC_B, 0, arg(t=0, i=0)),
        (MPSC_B, 10, arg(t=2)), (MPSC_B, 12, 0), (MPSC_B, 1, arg(t=0)),
        (MPSC_B, 13, 0), (MPSC_B, 1, arg(t=0)), (MPSC_B, 13, 0),
        (MPSC_B, 10, arg(t=1)), (MPSC_B, 3, arg(i=0)), (MPSC_B, 11, arg(t=1)),
        (MPSC_B, 10, arg(t=2)), (MPSC_B, 7, arg(t=0, i=0)),
        (MPSC_B, 0, arg(t=1, i=0)), (MPSC_B, 9, arg(t=0)),
        (MPSC_B, 1, arg(t=1)), (MPSC_B, 11, arg(t=2)),
        (MPSC_B, 4, arg(t=2, i=0, n2=1)), (MPSC_B, 10, arg(t=0)),
        (MPSC_B, 5, arg(t=2)), (MPSC_B, 0, arg(t=1, i=0)),
        (MPSC_B, 15, 0), (MPSC_B, 1, arg(t=1)), (MPSC_B, 11, arg(t=0)),
        (MPSC_B, 8, arg(t=2)), (MPSC_B, 11, arg(t=0)), (MPSC_B, 13, 0),
    ]),
    # Library bug: a notify_last notification passed on by a cancel went to
    # the oldest waiter; tokio passes it on as it came, to the newest.
    'regress-notify-last-pass-on': program([0] * 8, [
        (NOTIFY, 0, 0), (NOTIFY, 1, 0), (NOTIFY, 0, 1), (NOTIFY, 1, 1),
        (NOTIFY, 0, 2), (NOTIFY, 1, 2), (NOTIFY, 5, 0), (NOTIFY, 2, 2),
        (NOTIFY, 1, 0),
    ]),
}


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: fuzz-corpus.py DIR')
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(sys.argv[1], name), 'wb') as f:
            f.write(data)
    print('fuzz-corpus: %d seeds in %s' % (len(SEEDS), sys.argv[1]))


if __name__ == '__main__':
    main()
