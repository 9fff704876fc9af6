#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""insn-profile.py: guest instructions per I/O by function and by category,
from a profile of tools/tcg-insn-plugin.so (option prof=DIR, issue 19).

  scripts/insn-profile.py --kallsyms FILE --prof FILE --ios N
                          [--total INSNS] [--top N] [--label TEXT]

FILE of --prof: the plugin's DIR/prof-<seq>.txt ("<vaddr-hex> <insns>" per
translated-block start, lines starting with "#" are comments); of
--kallsyms: the guest's /proc/kallsyms, read with kptr_restrict=0 after
every module of the run was loaded.  --ios: the I/Os of the window (the
"ios" of vsng-load's JSON); --total: the instructions that the plain
counter gave for the same window (the "insns" of that JSON), to check that
the categories add up to it.

Each block start address maps to the text symbol at or below it (bisect in
the sorted kallsyms) and that symbol, with its [module], to one category
(CATEGORIES below, first match wins; the order is the order of the
report's rows).  scripts/bench-report.py uses load_kallsyms() and
profile() for the per-path tables of `make bench`.
"""
import argparse
import bisect
import re
import sys

KERNEL_MIN = 0xffff800000000000
FAR = 1 << 20           # a block more than 1 MiB past its symbol: unknown

# (key, title, modules, name regexp); a symbol of one of the modules, or a
# core-kernel symbol whose name matches the regexp, is in the category.
CATEGORIES = [
    ("ours", "ours (vhost_scsi_ng module, all of it)",
     {"vhost_scsi_ng"}, None),
    ("intree", "in-tree vhost_scsi + vhost + vhost_iotlb modules",
     {"vhost_scsi", "vhost", "vhost_iotlb"}, None),
    ("lio", "LIO core (target_core_mod)", {"target_core_mod"}, None),
    ("block", "iblock + block layer + null_blk/brd",
     {"target_core_iblock", "null_blk", "brd", "mq_deadline", "kyber_iosched"},
     r"^_*(blk|bio|blkg|blkcg|bvec|bdev|bd|submit_bio|sbitmap|elv|disk|"
     r"part_stat|rq_qos|wbt|mempool|bio_integrity|null|brd)(_|$)"),
    ("sched", "scheduler and wake-ups",
     set(),
     r"^(__)?schedule|^preempt_schedule|^__cond_resched|^_cond_resched|"
     r"^try_to_wake_up|^ttwu_|^wake_up|^__wake_up|^wake_q|"
     r"^default_wake_function|^autoremove_wake_function|^woken_wake_function|"
     r"^(__)?enqueue_|^(__)?dequeue_|^pick_next|^pick_task|^pick_eevdf|"
     r"^__pick_|^put_prev|^set_next|^update_curr|^update_load_avg|"
     r"^__update_load_avg|^update_cfs|^update_min_vruntime|^reweight_|"
     r"^update_rq_clock|^sched_|^__sched|^finish_task_switch|"
     r"^__switch_to|^switch_mm|^context_switch|^check_preempt|"
     r"^wakeup_preempt|^resched_curr|^select_task_rq|^select_idle|"
     r"^activate_task|^deactivate_task|^psi_|^place_entity|"
     r"^avg_vruntime|^entity_|^account_entity|^task_tick|^__calc_delta|"
     r"^prepare_task_switch|^raw_spin_rq|^_raw_spin_rq|^newidle_balance|"
     r"^sched_balance|^load_balance|^balance_|^cpuacct|^cgroup_account|"
     r"^kick_process|^set_task_cpu|^migrate_|^yield|"
     r"^do_sched_yield|^__x64_sys_sched_yield|^prepare_to_wait|"
     r"^finish_wait|^add_wait_queue|^remove_wait_queue|"
     r"^hrtick|^update_blocked|^attach_entity|^detach_entity|"
     r"^asm_sysvec_reschedule_ipi|^sysvec_reschedule|^scheduler_ipi|"
     r"^native_smp_send_reschedule|^__smp_call_single_queue|"
     r"^send_call_function|^generic_exec_single|^__flush_smp_call|"
     r"^flush_smp_call|^llist_|^dl_|^__dl_|^rt_|^__rt_|^idle_cpu|"
     r"^available_idle_cpu"),
    ("workqueue", "workqueues and kthreads (queue_work_on, worker_thread, ...)",
     set(),
     r"^(__)?queue_work|^queue_delayed_work|^__queue_delayed_work|"
     r"^process_one_work|^process_scheduled_works|^worker_thread|"
     r"^kick_pool|^insert_work|^pwq_|^worker_|^wq_|^__wq_|^need_more_worker|"
     r"^kthread|^__kthread|^ret_from_fork|^assign_work|^find_worker|"
     r"^get_work_pool|^work_grab|^try_to_grab|^flush_work|^__flush_work|"
     r"^cancel_work|^__cancel_work|^mod_delayed_work|^delayed_work_timer"),
    ("syscall", "syscalls, file and eventfd core (entry_SYSCALL, __x64_sys_*,"
     " eventfd_*, vfs_*, ioctl)",
     set(),
     r"^entry_SYSCALL|^do_syscall|^syscall_|^__x64_sys_|^__ia32_sys|"
     r"^x64_sys_call|^ksys_|^__sys_|^eventfd|^vfs_|^__vfs_|^rw_verify|"
     r"^fdget|^__fdget|^fget|^__fget|^fput|^__fput|^fd_install|"
     r"^do_vfs_ioctl|^__se_sys|^exit_to_user|^syscall_exit|^fpregs_|"
     r"^switch_fpu|^restore_fpregs|^fsnotify|^__fsnotify|^security_file|"
     r"^apparmor_file|^file_|^rw_copy|^import_|"
     r"^__get_user|^__put_user|^do_futex|^futex|"
     r"^__futex|^ep_|^do_epoll|^do_sys_poll|^do_poll|^do_select|"
     r"^core_sys_select|^pipe_|^anon_inode|^clear_bhb|^mds_"),
    ("locks", "spinlocks and mutexes (slow and fast paths)",
     set(),
     r"^native_queued_spin|^queued_|^_raw_|^__raw_|^do_raw_|^mutex_|"
     r"^__mutex|^osq_|^rwsem|^down_|^up_read|^up_write|^__pv_queued|"
     r"^pv_queued"),
    ("mm", "memory: slab, page pinning (gup), copies to and from user",
     set(),
     r"^kmalloc|^__kmalloc|^kfree|^__kfree|^kmem_cache|^__kmem_cache|"
     r"^slab_|^__slab|^___slab|^__check_object_size|^check_heap_object|"
     r"^__virt_addr_valid|^gup_|^__gup|^get_user_pages|^pin_user_pages|"
     r"^unpin_user|^internal_get_user|^try_grab|^folio_|^__folio|"
     r"^put_page|^get_page|^_*iov_iter|^_copy_|^copy_user|^copy_page|"
     r"^rep_movs|^memcpy|^__memcpy|^memset|^__memset|^memmove|"
     r"^check_stack_object|^should_failslab|^alloc_pages|^__alloc_pages|"
     r"^free_unref|^mod_objcg|^obj_cgroup|^__memcg|^memcg_"),
    ("irq", "interrupts, timers, softirqs, RCU",
     set(),
     r"^asm_sysvec|^sysvec_|^__sysvec|^asm_common_interrupt|"
     r"^common_interrupt|^__common_interrupt|^irq_|^__irq_|^handle_irq|"
     r"^handle_edge|^handle_fasteoi|^handle_softirqs|^__do_softirq|"
     r"^do_softirq|^__local_bh|^_local_bh|^local_bh|^raise_softirq|"
     r"^__raise_softirq|^tasklet|^hrtimer|^__hrtimer|^__run_hrtimer|"
     r"^tick_|^__tick|^timerqueue|^run_timer|^__run_timer|^timer_|"
     r"^__timer|^mod_timer|^__mod_timer|^add_timer|^del_timer|"
     r"^lapic_|^native_apic|^x2apic|^apic_|^__apic|^clockevents|"
     r"^ktime_|^read_tsc|^native_sched_clock|^sched_clock|"
     r"^rcu_(core|sched_clock_irq|do_batch|note_context|gp_kthread|"
     r"report_qs|check_quiescent|pending)|"
     r"^note_gp|^account_|^irqtime|^vtime_|^update_process_times|"
     r"^update_wall_time|^timekeeping|^calc_global_load|^trigger_load|"
     r"^run_posix_cpu|^irqentry_|^error_entry|^error_return|"
     r"^restore_regs_and_return|^native_irq_return|^asm_exc|^exc_|"
     r"^kvm_clock|^kvm_sched_clock|^pvclock|^jiffies|^do_timer"),
    ("idle", "idle loop (do_idle, hlt, cpuidle, nohz idle)",
     set(),
     r"^do_idle|^cpu_startup_entry|^default_idle|^arch_cpu_idle|"
     r"^cpuidle_|^poll_idle|^native_safe_halt|^pv_native_safe_halt|"
     r"^halt|^acpi_idle|^acpi_safe_halt|^mwait|^cpu_idle|"
     r"^tick_nohz_idle|^tick_nohz_irq_exit|^call_cpuidle|"
     r"^start_secondary|^amd_e400|^play_idle|^schedule_idle|"
     r"^idle_inject|^intel_idle|^do_idle"),
    ("user", "user space (vsng-load, libc)", set(), None),
    ("other", "rest of the kernel", set(), None),
    ("unknown", "kernel addresses with no symbol", set(), None),
]
CAT_KEYS = [c[0] for c in CATEGORIES]
CAT_TITLE = {c[0]: c[1] for c in CATEGORIES}
_MOD_CAT = {m: c[0] for c in CATEGORIES for m in c[2]}
_NAME_RE = [(c[0], re.compile(c[3])) for c in CATEGORIES if c[3]]


def load_kallsyms(path):
    """Sorted (addrs, syms): syms[i] = (name, module or "")."""
    rows = []
    with open(path, errors="replace") as f:
        for line in f:
            p = line.split()
            if len(p) < 3 or p[1] not in "tTwW":
                continue
            try:
                a = int(p[0], 16)
            except ValueError:
                continue
            if a == 0:
                continue    # kptr_restrict: addresses hidden
            mod = p[3].strip("[]") if len(p) > 3 else ""
            rows.append((a, p[2], mod))
    rows.sort()
    return [r[0] for r in rows], [(r[1], r[2]) for r in rows]


def category(name, mod):
    if mod:
        return _MOD_CAT.get(mod, "other")
    for key, rx in _NAME_RE:
        if rx.search(name):
            return key
    return "other"


def lookup(ks, addr):
    """(symbol, module, category) of a block start address."""
    if addr < KERNEL_MIN:
        return "[user]", "", "user"
    addrs, syms = ks
    i = bisect.bisect_right(addrs, addr) - 1
    if i < 0 or addr - addrs[i] > FAR:
        return "[unknown]", "", "unknown"
    name, mod = syms[i]
    return name, mod, category(name, mod)


def read_prof(path):
    """{vaddr: insns} of one plugin profile file."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            p = line.split()
            if len(p) != 2:
                continue
            a, n = int(p[0], 16), int(p[1])
            out[a] = out.get(a, 0) + n
    return out


def profile(ks, prof_path):
    """(per category insns, per "sym [mod]" insns, total insns)."""
    cats = dict.fromkeys(CAT_KEYS, 0)
    syms = {}
    total = 0
    for a, n in read_prof(prof_path).items():
        name, mod, cat = lookup(ks, a)
        cats[cat] += n
        key = f"{name} [{mod}]" if mod else name
        syms[key] = syms.get(key, 0) + n
        total += n
    return cats, syms, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kallsyms", required=True)
    ap.add_argument("--prof", required=True)
    ap.add_argument("--ios", type=float, required=True)
    ap.add_argument("--total", type=float)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    if a.ios <= 0:
        print("insn-profile: --ios must be > 0", file=sys.stderr)
        return 2
    ks = load_kallsyms(a.kallsyms)
    if not ks[0]:
        print("insn-profile: no symbol addresses in the kallsyms file "
              "(kptr_restrict?)", file=sys.stderr)
        return 2
    cats, syms, total = profile(ks, a.prof)
    if a.label:
        print(f"# {a.label}")
    print(f"{'category':<12} {'insns/IO':>12} {'share':>7}")
    for k in CAT_KEYS:
        if cats[k]:
            print(f"{k:<12} {cats[k] / a.ios:12.1f} "
                  f"{100 * cats[k] / max(total, 1):6.1f}%")
    print(f"{'sum':<12} {total / a.ios:12.1f}")
    rc = 0
    if a.total:
        d = (total - a.total) / a.total
        print(f"{'counter':<12} {a.total / a.ios:12.1f}  "
              f"(profile sum - counter: {100 * d:+.3f}%)")
    print(f"\ntop {a.top} symbols, insns/IO:")
    for key, n in sorted(syms.items(), key=lambda x: -x[1])[:a.top]:
        print(f"{n / a.ios:12.1f}  {key}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
