/* psc-runtime: an OCI runtime (runtime-spec 1.1) with runc's command line. See ../README.md for the contract. */
#ifndef PSC_RUNTIME_H
#define PSC_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

/* Paths are built with snprintf into PATH_MAX buffers; the kernel rejects longer paths anyway, so GCC's
 * "may be truncated" guesses about them are noise here. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define PSC_VERSION "0.1.0"
#define PSC_OCI_VERSION "1.1.0"
#define PSC_DEFAULT_ROOT "/run/pscontainer/runtime"
#define PSC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- errors (log.c) ----
 * Every failing step records one message and an exit code (1, 126 or 127) and returns -1; the caller that owns
 * the process (the parent, or the child through its sync socket) reports it once. */
struct rt_error {
    int code;
    char msg[1024];
};
extern struct rt_error g_err;

int err_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));             /* "...: strerror (errno N)", code 1 */
int err_msg(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3))); /* plain message */
int log_open(const char *path, const char *format);
void log_error(const char *msg); /* stderr line + log record */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the spec (spec.c) ---- */
struct rt_mount {
    const char *dest, *type, *source;
    unsigned long flags;     /* MS_* given to mount(2) */
    unsigned long pflags[4]; /* propagation changes applied after the mount */
    int npflags;
    char *data; /* fs-specific options, comma separated */
    bool bind;
};

struct rt_ns {
    int flag; /* CLONE_NEW* */
    const char *path;
};

struct rt_idmap {
    unsigned long container_id, host_id, size;
};

struct rt_rlimit {
    int resource;
    unsigned long long soft, hard;
};

struct rt_device { /* linux.devices */
    const char *path;
    char type; /* c, b, u, p */
    int64_t major, minor;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

struct rt_devrule { /* linux.resources.devices */
    bool allow;
    char type;                /* a, c, b */
    int64_t major, minor;     /* -1: any */
    char access[4];
};

struct rt_devnum_value { /* "major:minor value" entries of blockIO */
    int64_t major, minor;
    uint64_t value;
};
enum { THROTTLE_READ_BPS, THROTTLE_WRITE_BPS, THROTTLE_READ_IOPS, THROTTLE_WRITE_IOPS, THROTTLE_KINDS };

/* linux.resources beyond memory/swap limits, cpu shares/quota/period, pids and devices (those are in rt_spec) */
struct rt_resources {
    bool has_mem_reservation, has_swappiness, disable_oom_killer;
    int64_t mem_reservation;
    uint64_t swappiness;
    const char *cpuset_cpus, *cpuset_mems;
    bool has_rt_runtime, has_rt_period, has_cpu_burst, has_cpu_idle;
    int64_t rt_runtime, cpu_idle;
    uint64_t rt_period, cpu_burst;
    bool has_blkio_weight;
    uint64_t blkio_weight;
    struct rt_devnum_value *weight_devices;
    size_t n_weight_devices;
    struct rt_devnum_value *throttle[THROTTLE_KINDS];
    size_t n_throttle[THROTTLE_KINDS];
    const char **hugepage_sizes; /* "2MB" */
    uint64_t *hugepage_limits;
    size_t n_hugepages;
    bool has_classid;
    uint32_t classid;
    const char **ifprio_names;
    uint32_t *ifprio_values;
    size_t n_ifprio;
    const char **unified_keys, **unified_values;
    size_t n_unified;
};

struct rt_spec {
    json_object *json; /* owns every string below */
    const char *bundle; /* absolute */
    const char *rootfs; /* absolute */
    bool root_readonly;
    /* process */
    bool terminal;
    unsigned short console_height, console_width; /* process.consoleSize; 0: leave the pty's default */
    const char *apparmor_profile, *selinux_label; /* applied where the host has the module, else an error (lsm.c) */
    uid_t uid;
    gid_t gid;
    gid_t *additional_gids;
    size_t n_additional_gids;
    int umask; /* -1: 0022 */
    char **args, **env;
    const char *cwd;
    bool has_caps;
    uint64_t cap_bounding, cap_effective, cap_inheritable, cap_permitted, cap_ambient;
    struct rt_rlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privileges;
    bool has_oom_score_adj;
    int oom_score_adj;
    const char *hostname;
    struct rt_mount *mounts;
    size_t n_mounts;
    /* linux */
    struct rt_ns *namespaces;
    size_t n_namespaces;
    struct rt_idmap *uid_maps, *gid_maps;
    size_t n_uid_maps, n_gid_maps;
    const char **sysctl_keys, **sysctl_values;
    size_t n_sysctl;
    bool has_mem_limit, has_mem_swap, has_cpu_shares, has_cpu_quota, has_cpu_period, has_pids_limit;
    int64_t mem_limit, mem_swap, cpu_quota, pids_limit;
    uint64_t cpu_shares, cpu_period;
    struct rt_devrule *devrules;
    size_t n_devrules;
    struct rt_resources resources;
    const char *cgroups_path;
    unsigned long rootfs_propagation; /* 0: rslave like runc */
    const char **masked_paths, **readonly_paths;
    size_t n_masked, n_readonly;
    struct rt_device *devices;
    size_t n_devices;
    json_object *annotations;
    json_object *hooks; /* the spec's "hooks" object, or NULL */
    const char *seccomp;         /* linux.seccomp as its JSON text (config_read), or NULL */
    size_t seccomp_len;
    json_object *seccomp_owner;  /* exec: the container's config.json that holds it */
    const char *container_id;    /* names the session keyring */
    bool no_new_keyring;         /* create --no-new-keyring: keep the caller's session keyring */
};

int spec_load(const char *bundle, struct rt_spec *spec);
int spec_parse_process(json_object *proc, struct rt_spec *spec); /* process.* only (exec --process) */
int spec_systemd_cgroup_path(const char *in, char *out, size_t len); /* "slice:prefix:name" -> cgroupfs path */
const struct rt_ns *spec_ns(const struct rt_spec *spec, int flag);

/* ---- capabilities (caps.c) ---- */
int cap_from_name(const char *name); /* -1 when unknown */
int cap_last(void);
int caps_drop_bounding(const struct rt_spec *spec);
int caps_apply(const struct rt_spec *spec);

/* ---- namespaces (namespaces.c) ---- */
int ns_flag_from_type(const char *type); /* 0 when unknown */
const char *ns_proc_name(int flag);
int ns_join(const struct rt_spec *spec, bool user_only);
int ns_join_type(const struct rt_spec *spec, int flag); /* join one type if the spec gives a path */
int ns_write_id_maps(pid_t pid, const struct rt_spec *spec);
int ns_join_early(const struct rt_spec *spec, int saved[8]);
int ns_restore_early(int saved[8]);
void ns_mark_joined(int flag); /* a namespace joined before clone() (the child must not join it again) */
pid_t ns_clone_in_joined_userns(const struct rt_spec *spec, int flags, int (*fn)(void *), void *arg);

/* ---- cgroups (cgroups.c) ---- */
#define CG_MAX 12
struct rt_cgroup {
    bool v2;
    size_t n;
    char *ctrl[CG_MAX]; /* hierarchy name, e.g. "memory" or "cpu,cpuacct"; "" for v2 */
    char *path[CG_MAX]; /* absolute directory of the container's cgroup in that hierarchy */
};
int cgroup_create(const struct rt_spec *spec, struct rt_cgroup *cg);
int cgroup_write(const char *dir, const char *file, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool cgroup_has_ctrl(const struct rt_cgroup *cg, size_t i, const char *name); /* v1: hierarchy i has it; v2: true */

/* ---- the rest of linux.resources (resources.c) ---- */
int resources_parse(json_object *resources, struct rt_resources *x);
int resources_check(const struct rt_resources *x, const struct rt_cgroup *cg); /* what this host cannot apply */
int resources_apply_v1(const struct rt_resources *x, const struct rt_cgroup *cg, size_t i);
int resources_apply_v2(const struct rt_resources *x, const char *dir);
int cgroup_apply(const struct rt_spec *spec, const struct rt_cgroup *cg);
int cgroup_join(const struct rt_cgroup *cg, pid_t pid);
int cgroup_pids(const struct rt_cgroup *cg, pid_t **pids, size_t *n);
int cgroup_kill(const struct rt_cgroup *cg, int sig);
int cgroup_destroy(const struct rt_cgroup *cg); /* SIGKILL everything, wait until empty, rmdir */
int cgroup_mount(const struct rt_cgroup *cg, const struct rt_mount *m, int rootfd); /* the "cgroup" spec mount */
int cgroup_freeze(const struct rt_cgroup *cg, bool freeze); /* pause/resume; waits until frozen */
int cgroup_is_frozen(const struct rt_cgroup *cg);          /* 1 frozen, 0 not, -1 no freezer */
void cgroup_free(struct rt_cgroup *cg);
/* cgroup_place.c: a new process placed into the container's cgroups without a cgroup.procs write by another
 * process (which waits for an RCU grace period): clone3(CLONE_INTO_CGROUP) for the v2 tree, and the process
 * moving itself into each v1 hierarchy through descriptors opened here */
struct cgroup_placement {
    const struct rt_cgroup *cg;
    int v2_fd, v2_index; /* the v2 (or hybrid "unified") directory and its index in cg, or -1 */
    bool v2_by_parent;   /* the clone could not go into it: placement_finish writes the pid */
    int tasks_fd[CG_MAX]; /* v1: each hierarchy's tasks file, -1 for the v2 entry */
};
void placement_init(struct cgroup_placement *pl); /* nothing open: placement_close does nothing */
int placement_open(const struct rt_cgroup *cg, struct cgroup_placement *pl);
pid_t placement_clone(struct cgroup_placement *pl, int flags); /* fork-like: 0 in the child; -1 with errno */
int placement_join_self(struct cgroup_placement *pl);          /* in the child, first; closes the descriptors */
int placement_finish(struct cgroup_placement *pl, pid_t pid);  /* in the parent once the child reported */
void placement_close(struct cgroup_placement *pl);
/* cgroup v2 device control (devices_bpf.c): one BPF_PROG_TYPE_CGROUP_DEVICE program built from the rules (last match
 * wins, nothing matching denies), attached to the cgroup directory in place of any it had */
int devices_bpf_apply(const char *cgdir, const struct rt_devrule *rules, size_t n);

/* ---- root filesystem (mounts.c, devices.c) ---- */
int rootfs_prepare(const struct rt_spec *spec, const struct rt_cgroup *cg); /* before pivot_root */
int rootfs_pivot(const struct rt_spec *spec, bool no_pivot); /* no_pivot: MS_MOVE + chroot */
int rootfs_finalize_paths(const struct rt_spec *spec);             /* masked / readonly paths */
int rootfs_finalize_readonly(const struct rt_spec *spec);          /* readonly root */
int open_in_root(int rootfd, const char *path, int flags, bool create, bool create_file, mode_t mode);
unsigned long mount_locked_flags(const char *path);
int devices_create(const struct rt_spec *spec, int rootfd, bool userns);
int devices_symlinks(int rootfd);

/* ---- the container process (process.c) ---- */
int process_sysctl(const struct rt_spec *spec);
int process_rlimits(const struct rt_spec *spec);
int process_oom_score_adj(const struct rt_spec *spec);
int process_setup_user(const struct rt_spec *spec);
int process_lookup(const struct rt_spec *spec, char *out, size_t outlen);
int process_become(const struct rt_spec *spec, char *exe, size_t exelen); /* no_new_privs, caps, user, cwd, umask, lookup */
const char *process_env_get(char **env, const char *name);

/* ---- nothing of the host within the container's reach until execve (confine.c) ---- */
int confine_nondumpable(void);          /* PR_SET_DUMPABLE 0 (CVE-2016-9962); execve makes the command dumpable */
int keep_fds_from(int first_closed);    /* CLOEXEC on every fd >= first_closed, however high (CVE-2024-21626) */
int pass_fds(int n);                    /* fds 3..3+n-1 stay open across execve, every other one >= 3 is closed */
int confine_make_cwd(const char *cwd);  /* mkdir -p of process.cwd resolved inside the root, no magic links */
int confine_cwd(const char *cwd);       /* after chdir: the cwd must be under the process's root */

/* ---- security (seccomp.c, keyring.c, lsm.c): what process_become and the last step before execve apply ---- */
/* from the cache, or compiled, in the runtime before the fork; TEXT is linux.seccomp's JSON (NULL: none) */
int seccomp_prepare(const char *text, size_t len, bool no_new_privs);
int seccomp_load_early(void); /* without no_new_privs: while CAP_SYS_ADMIN is still held */
int seccomp_load_late(void);  /* right before execve (whatever is not loaded yet) */
int seccomp_load_for_agent(void); /* a filter with a listener: now, while the runtime waits for READY */
/* seccomp_notify.c: the listener of SCMP_ACT_NOTIFY rules, passed from the container process to the runtime over the
 * sync socket and from there to the agent at linux.seccomp.listenerPath */
#define PSC_MSG_SECCOMP_FD 3 /* a sync message of just this int, with the listener in SCM_RIGHTS (not 1 or 2: READY/ERROR) */
struct notify_state {          /* what the agent is told */
    const char *id, *status, *bundle;
    pid_t pid, state_pid;      /* the process the filter is on; the container's (init) */
    json_object *annotations;
};
int seccomp_notify_check_rule(json_object *names, const char *single); /* compile: a notifying rule's syscalls */
int seccomp_notify_flags(json_object *sc, bool notify_rule, unsigned *kernel_flags); /* compile: listener flags */
int seccomp_notify_configure(const char *text, size_t len); /* prepare: listenerPath, listenerMetadata */
void seccomp_notify_set_sync(int fd);    /* the container process: where the listener goes */
int seccomp_notify_handoff(int notify_fd); /* the container process, right after the load */
/* the runtime: the next sync message into MSG (LEN bytes, *GOT the size read or -1), forwarding any listener that
 * arrives before it to the agent; -1 with g_err when that fails */
int seccomp_notify_recv(int sock, void *msg, size_t len, ssize_t *got, const struct notify_state *ns);
json_object *seccomp_features(void);
struct sock_filter;
/* seccomp_enosys.c: put runc's ENOSYS stub in front of libseccomp's PROG (TOKENS: the filter's SCMP_ARCH_*) */
int seccomp_enosys_patch(json_object *seccomp, uint32_t default_action, const uint32_t *tokens, size_t ntokens,
                         struct sock_filter **prog, unsigned short *len);
int seccomp_from_bundle(const char *bundle, struct rt_spec *p); /* exec: the container's linux.seccomp */
/* config_read.c: PATH parsed, with linux.seccomp left out and given as its text (NULL, 0 without one); NULL as
 * json_object_from_file fails, with json_util_get_last_err */
json_object *config_read(const char *path, const char **seccomp, size_t *seccomp_len);
int keyring_join_session(const char *container_id);
bool lsm_apparmor_enabled(void);
bool lsm_selinux_enabled(void);
int lsm_check(const char *apparmor_profile, const char *selinux_label); /* error when the host cannot honour them */
int lsm_apply(const char *apparmor_profile, const char *selinux_label); /* labels for the next execve */
int security_enter(const struct rt_spec *s);  /* start of process_become: keyring, early seccomp */
int security_before_exec(const struct rt_spec *s); /* LSM labels, late seccomp */

/* ---- state (state.c) ---- */
struct rt_state {
    char id[256];
    pid_t pid;
    unsigned long long start_time;
    char bundle[4096];
    char rootfs[4096];
    char created[64];
    struct rt_cgroup cg;
    json_object *annotations;
    json_object *hooks; /* kept from the spec for poststart/poststop */
};
extern const char *g_root;
int state_dir(const char *id, char *out, size_t len);
int state_claim(const char *id);
int state_write(const struct rt_state *st);
int state_read(const char *id, struct rt_state *st);
int state_remove(const char *id);
const char *state_status(const struct rt_state *st);
unsigned long long proc_start_time(pid_t pid);
bool valid_id(const char *id);

/* ---- commands (container.c) ---- */
struct create_opts {
    const char *id, *bundle, *pid_file, *console_socket;
    bool no_pivot, no_new_keyring;
    int preserve_fds;
};
extern bool g_systemd_cgroup;
int cmd_create(const struct create_opts *o);
int cmd_run(const struct create_opts *o);
int cmd_start(const char *id);
int cmd_state(const char *id);
int cmd_kill(const char *id, const char *sig, bool all);
int cmd_delete(const char *id, bool force);
int cmd_list(bool quiet, bool json);
int cmd_pause(const char *id, bool pause);
int cmd_ps(const char *id, bool json, char **ps_args, int n_ps_args);
int signal_from_name(const char *s);
json_object *state_json(const struct rt_state *st, const char *status_override);

/* ---- exec (exec.c) ---- */
struct exec_opts {
    const char *id, *process_file, *cwd, *user, *pid_file, *console_socket;
    char **args;
    int nargs;
    const char **env, **caps, **gids;
    int nenv, ncaps, ngids;
    bool tty, detach, no_new_privs;
    int preserve_fds;
    const char *apparmor, *process_label; /* --apparmor, --process-label */
};
int cmd_exec(const struct exec_opts *o);

/* ---- unix sockets (unixsock.c) ---- */
int unix_connect(const char *path, const char *what);  /* a connected stream socket, or -1 with g_err */
ssize_t send_with_fd(int sock, const void *data, size_t len, int fd); /* sendmsg with fd in SCM_RIGHTS; -1: errno */

/* ---- console (console.c): process.terminal with --console-socket, runc's protocol ---- */
int console_setup(int sockfd, const struct rt_spec *spec);      /* in the container: pty, send master, stdio+ctty */

/* ---- hooks (hooks.c) ---- */
/* runs every hook of KIND ("prestart", "createRuntime", ...) with STATE on stdin; -1 with g_err on failure */
int hooks_run(json_object *hooks, const char *kind, const char *state);

/* ---- features (features.c) ---- */
int cmd_features(void);

/* ---- re-exec from a sealed memfd (cloned_binary.c) ---- */
int ensure_cloned_binary(char **argv, char **envp);

/* ---- small helpers (util.c) ---- */
int write_file(const char *path, const char *data);
int write_file_at(int dirfd, const char *path, const char *data);
ssize_t read_file(const char *path, char *buf, size_t len);
int mkdir_p(const char *path, mode_t mode);
#include "io.h" /* write_all */
void rfc3339_now(char *buf, size_t len);

#endif
