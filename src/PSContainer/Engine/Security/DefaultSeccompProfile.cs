namespace PSContainer.Engine.Security;

/// <summary>
/// The seccomp profile every container gets unless <c>-SecurityOption seccomp=…</c> says otherwise: Docker's default
/// (moby profiles/seccomp/default.json) rebuilt here. An allow list; everything else fails with EPERM. What only a
/// capability makes safe is allowed only with it (mount, unshare, setns, bpf, perf_event_open, ptrace of others'
/// memory, module loading, reboot, clock setting…); without CAP_SYS_ADMIN, <c>clone</c> may not ask for new
/// namespaces and <c>clone3</c>, whose flags seccomp cannot read, fails with ENOSYS so libc falls back to clone.
/// The profile is resolved per container against its bounding capabilities (<see cref="SeccompProfile.ToSpec"/>).
/// </summary>
public static class DefaultSeccompProfile
{
    /// <summary>Calls any container may make.</summary>
    public static readonly string[] Allowed =
    [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir", "chmod",
        "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
        "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range",
        "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
        "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
        "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
        "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock",
        "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
        "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
        "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
        "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
        "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
        "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr",
        "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
        "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
        // no io_uring_*: a ring performs calls the filter never sees (moby#46762 took them out in Docker 25)
        "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
        "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr",
        "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier",
        "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall",
        "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
        "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync",
        "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat",
        "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect",
        "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
        "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv",
        "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat",
        "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
        "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
        "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
        "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
        "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32",
        "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
        "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
        "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32",
        "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
        "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
        "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
        "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
        "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
        "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
        "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
        // Reading and writing another process's memory is ptrace's permission check since Linux 4.8, so these are as
        // safe as ptrace itself, which the pid namespace and the missing CAP_SYS_PTRACE confine.
        "process_vm_readv", "process_vm_writev", "ptrace",
    ];

    /// <summary>Calls allowed only with a capability in the container's bounding set (moby's list).</summary>
    public static readonly (string Capability, string[] Calls)[] ByCapability =
    [
        ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
        ("CAP_SYS_ADMIN",
        [
            "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount",
            "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
            "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
        ]),
        ("CAP_SYS_BOOT", ["reboot"]),
        ("CAP_SYS_CHROOT", ["chroot"]),
        ("CAP_SYS_MODULE", ["delete_module", "init_module", "finit_module"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"]),
        ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
        ("CAP_SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
        ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
        ("CAP_SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
        ("CAP_SYSLOG", ["syslog"]),
        ("CAP_BPF", ["bpf"]),
        ("CAP_PERFMON", ["perf_event_open"]),
    ];

    /// <summary>The namespace flags of clone(2) (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET): a clone
    /// without CAP_SYS_ADMIN must have none of them.</summary>
    public const ulong CloneNamespaceFlags = 0x7E020000;

    /// <summary>personality(2) values that only select the Linux personality or its harmless flags (PER_LINUX,
    /// PER_LINUX32, UNAME26, PER_LINUX32|UNAME26, and 0xffffffff which only queries).</summary>
    public static readonly ulong[] Personalities = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

    public const uint EPERM = 1, ENOSYS = 38;
    private const ulong AF_VSOCK = 40;

    public static SeccompProfile Build()
    {
        var rules = new List<SeccompSyscall> { Allow(Allowed) };
        // vsock reaches the host (a VM's hypervisor or the host's own vsock services) past the network namespace.
        rules.Add(Allow(["socket"], args: [Arg(0, AF_VSOCK, "SCMP_CMP_NE")]));
        foreach (ulong p in Personalities) rules.Add(Allow(["personality"], args: [Arg(0, p, "SCMP_CMP_EQ")]));
        rules.Add(Allow(["sync_file_range2", "swapcontext"], arches: ["ppc64le"]));
        rules.Add(Allow(["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"], arches: ["arm", "arm64"]));
        rules.Add(Allow(["arch_prctl"], arches: ["amd64", "x32"]));
        rules.Add(Allow(["modify_ldt"], arches: ["amd64", "x32", "x86"]));
        rules.Add(Allow(["s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"], arches: ["s390", "s390x"]));
        rules.Add(Allow(["riscv_flush_icache"], arches: ["riscv64"]));
        foreach (var (cap, calls) in ByCapability) rules.Add(Allow(calls, caps: [cap]));
        // clone without CAP_SYS_ADMIN: no new namespaces (s390 passes the flags second).
        rules.Add(new SeccompSyscall
        {
            Names = ["clone"], Action = "SCMP_ACT_ALLOW", Args = [Arg(0, CloneNamespaceFlags, "SCMP_CMP_MASKED_EQ")],
            Excludes = new SeccompCondition { Caps = ["CAP_SYS_ADMIN"], Arches = ["s390", "s390x"] },
        });
        rules.Add(new SeccompSyscall
        {
            Names = ["clone"], Action = "SCMP_ACT_ALLOW", Args = [Arg(1, CloneNamespaceFlags, "SCMP_CMP_MASKED_EQ")],
            Includes = new SeccompCondition { Arches = ["s390", "s390x"] }, Excludes = new SeccompCondition { Caps = ["CAP_SYS_ADMIN"] },
        });
        // clone3 passes its flags in memory seccomp cannot read: ENOSYS makes glibc fall back to clone, checked above.
        rules.Add(new SeccompSyscall
        {
            Names = ["clone3"], Action = "SCMP_ACT_ERRNO", ErrnoRet = ENOSYS, Excludes = new SeccompCondition { Caps = ["CAP_SYS_ADMIN"] },
        });
        var arch = SeccompArch.Current;
        return new SeccompProfile
        {
            DefaultAction = "SCMP_ACT_ERRNO",
            DefaultErrnoRet = EPERM,
            ArchMap = [new SeccompArchMap { Architecture = arch.Native, SubArchitectures = [.. arch.Sub] }],
            Syscalls = rules,
        };
    }

    private static SeccompSyscall Allow(string[] names, List<SeccompArg>? args = null, List<string>? caps = null, List<string>? arches = null) => new()
    {
        Names = [.. names],
        Action = "SCMP_ACT_ALLOW",
        Args = args,
        Includes = caps is null && arches is null ? null : new SeccompCondition { Caps = caps, Arches = arches },
    };

    private static SeccompArg Arg(uint index, ulong value, string op) => new() { Index = index, Value = value, Op = op };
}
