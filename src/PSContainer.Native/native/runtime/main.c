/* psc-runtime command line (runc's): global options, then a command and its options. */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime.h"

static const struct { const char *name; int sig; } signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT},     {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"IOT", SIGIOT},     {"BUS", SIGBUS},       {"FPE", SIGFPE},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
    {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"POLL", SIGPOLL}, {"PWR", SIGPWR},     {"SYS", SIGSYS},
};

int signal_from_name(const char *s)
{
    if (isdigit((unsigned char)s[0])) {
        char *end;
        long n = strtol(s, &end, 10);
        return *end || n <= 0 || n > SIGRTMAX ? -1 : (int)n;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
        if (strcasecmp(s, signals[i].name) == 0)
            return signals[i].sig;
    return -1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: psc-runtime [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] COMMAND [OPTIONS] ID\n"
               "commands:\n"
               "  create [--bundle DIR] [--pid-file FILE] [--console-socket PATH] [--no-pivot] [--preserve-fds N] ID\n"
               "  start ID\n"
               "  run [--bundle DIR] [--pid-file FILE] [--console-socket PATH] [--detach] [--no-pivot] [--preserve-fds N] ID\n"
               "  exec [--process FILE | --cwd DIR --env K=V --user UID[:GID] --additional-gids GID --cap CAP --no-new-privs]\n"
               "       [--tty] [--console-socket PATH] [--detach] [--pid-file FILE] [--preserve-fds N] ID [COMMAND ARGS...]\n"
               "  state ID\n"
               "  kill [--all] ID [SIGNAL]\n"
               "  delete [--force] ID\n"
               "  pause ID | resume ID\n"
               "  ps [--format table|json] ID [PS-ARGS...]\n"
               "  list [-q] [--format table|json]\n"
               "  features\n");
}

/* "--name value" or "--name=value" (and "-name", as Go's flag package allows); returns the value or NULL */
static const char *opt_value(int argc, char **argv, int *i, const char *name, const char *shortname)
{
    const char *a = argv[*i];
    if (shortname && strcmp(a, shortname) == 0)
        return *i + 1 < argc ? argv[++*i] : NULL;
    if (a[0] == '-' && a[1] != '-' && strlen(a) > 2) /* -name: as --name */
        ;
    else if (a[0] == '-' && a[1] == '-')
        a++;
    else
        return NULL;
    const char *n = name + 1; /* name is "--x": compare "-x" */
    size_t l = strlen(n);
    if (strncmp(a, n, l) == 0 && a[l] == '=')
        return a + l + 1;
    if (strcmp(a, n) == 0 || (shortname && strcmp(argv[*i], shortname) == 0)) {
        if (*i + 1 >= argc)
            return NULL;
        return argv[++*i];
    }
    if (shortname && strncmp(argv[*i], shortname, strlen(shortname)) == 0 && argv[*i][strlen(shortname)] == '=')
        return argv[*i] + strlen(shortname) + 1;
    return NULL;
}

/* "--flag", "-flag", "--flag=true|false" */
static bool is_flag(const char *a, const char *name, const char *shortname, bool *value)
{
    bool v = true;
    if (shortname && strcmp(a, shortname) == 0)
        goto yes;
    if (a[0] != '-')
        return false;
    if (a[1] == '-')
        a++;
    size_t l = strlen(name + 1);
    if (strncmp(a, name + 1, l) != 0)
        return false;
    if (a[l] == '=')
        v = strcmp(a + l + 1, "false") != 0 && strcmp(a + l + 1, "0") != 0;
    else if (a[l])
        return false;
yes:
    if (value)
        *value = v;
    return true;
}

static int fail(void)
{
    log_error(g_err.msg);
    return g_err.code ? g_err.code : 1;
}

static int parse_int(const char *v, const char *what, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 0 || n > 65536) {
        err_msg(1, "invalid %s \"%s\"", what, v);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int unknown_option(const char *cmd, const char *opt)
{
    err_msg(1, "%s: unknown option %s", cmd, opt);
    return fail();
}

int main(int argc, char **argv, char **envp)
{
    const char *log_path = NULL, *log_format = "text";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *v;
        if (is_flag(argv[i], "--version", "-v", NULL)) {
            printf("psc-runtime version %s\ncommit: none\nspec: %s\n", PSC_VERSION, PSC_OCI_VERSION);
            return 0;
        } else if (is_flag(argv[i], "--help", "-h", NULL)) {
            usage(stdout);
            return 0;
        } else if ((v = opt_value(argc, argv, &i, "--root", NULL))) {
            g_root = v;
        } else if ((v = opt_value(argc, argv, &i, "--log", NULL))) {
            log_path = v;
        } else if ((v = opt_value(argc, argv, &i, "--log-format", NULL))) {
            log_format = v;
        } else if (is_flag(argv[i], "--systemd-cgroup", NULL, &g_systemd_cgroup)) {
            /* no systemd driver: a "slice:prefix:name" cgroupsPath is turned into a cgroupfs path (see create) */
        } else if (is_flag(argv[i], "--debug", NULL, NULL)) {
        } else if ((v = opt_value(argc, argv, &i, "--rootless", NULL)) || (v = opt_value(argc, argv, &i, "--criu", NULL))) {
            /* accepted for runc compatibility */
        } else {
            fprintf(stderr, "psc-runtime: unknown global option %s\n", argv[i]);
            usage(stderr);
            return 1;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 1;
    }
    if (log_open(log_path, log_format) < 0)
        return fail();
    const char *cmd = argv[i++];

    if (strcmp(cmd, "features") == 0)
        return cmd_features() < 0 ? fail() : 0;

    if (strcmp(cmd, "create") == 0 || strcmp(cmd, "run") == 0) {
        struct create_opts o = {0};
        bool detach = false;
        for (; i < argc; i++) {
            const char *v;
            if ((v = opt_value(argc, argv, &i, "--bundle", "-b")))
                o.bundle = v;
            else if ((v = opt_value(argc, argv, &i, "--pid-file", NULL)))
                o.pid_file = v;
            else if ((v = opt_value(argc, argv, &i, "--console-socket", NULL)))
                o.console_socket = v;
            else if ((v = opt_value(argc, argv, &i, "--preserve-fds", NULL))) {
                if (parse_int(v, "--preserve-fds", &o.preserve_fds) < 0)
                    return fail();
            } else if (is_flag(argv[i], "--detach", "-d", &detach))
                ;
            else if (is_flag(argv[i], "--no-pivot", NULL, &o.no_pivot))
                ;
            else if (is_flag(argv[i], "--no-new-keyring", NULL, &o.no_new_keyring))
                ; /* runc's: the container keeps the caller's session keyring */
            else if (is_flag(argv[i], "--keep", NULL, NULL) || is_flag(argv[i], "--no-subreaper", NULL, NULL))
                ;
            else if (argv[i][0] == '-')
                return unknown_option(cmd, argv[i]);
            else
                o.id = argv[i];
        }
        if (!o.id) {
            err_msg(1, "%s: a container id is required", cmd);
            return fail();
        }
        /* CVE-2019-5736: from here on we run from a sealed copy */
        if (ensure_cloned_binary(argv, envp) < 0)
            return fail();
        if (strcmp(cmd, "create") == 0 || detach) {
            if (cmd_create(&o) < 0 || (detach && cmd_start(o.id) < 0))
                return fail();
            return 0;
        }
        int rc = cmd_run(&o);
        return rc < 0 ? fail() : rc;
    }

    if (strcmp(cmd, "exec") == 0) {
        struct exec_opts o = {0};
        const char **env = calloc((size_t)argc, sizeof *env), **caps = calloc((size_t)argc, sizeof *caps),
                   **gids = calloc((size_t)argc, sizeof *gids);
        if (!env || !caps || !gids)
            abort();
        o.env = env;
        o.caps = caps;
        o.gids = gids;
        for (; i < argc && !o.id; i++) {
            const char *v;
            bool b;
            if ((v = opt_value(argc, argv, &i, "--process", "-p")))
                o.process_file = v;
            else if ((v = opt_value(argc, argv, &i, "--cwd", NULL)))
                o.cwd = v;
            else if ((v = opt_value(argc, argv, &i, "--env", "-e")))
                env[o.nenv++] = v;
            else if ((v = opt_value(argc, argv, &i, "--user", "-u")))
                o.user = v;
            else if ((v = opt_value(argc, argv, &i, "--cap", "-c")))
                caps[o.ncaps++] = v;
            else if ((v = opt_value(argc, argv, &i, "--console-socket", NULL)))
                o.console_socket = v;
            else if ((v = opt_value(argc, argv, &i, "--pid-file", NULL)))
                o.pid_file = v;
            else if ((v = opt_value(argc, argv, &i, "--preserve-fds", NULL))) {
                if (parse_int(v, "--preserve-fds", &o.preserve_fds) < 0)
                    return fail();
            } else if ((v = opt_value(argc, argv, &i, "--apparmor", NULL))) {
                o.apparmor = v;
            } else if ((v = opt_value(argc, argv, &i, "--process-label", NULL))) {
                o.process_label = v;
            } else if ((v = opt_value(argc, argv, &i, "--additional-gids", "-g")))
                gids[o.ngids++] = v;
            else if ((v = opt_value(argc, argv, &i, "--cgroup", NULL))) {
                log_warn("exec: option %s %s is ignored", argv[i - 1], v);
            } else if (is_flag(argv[i], "--tty", "-t", &b))
                o.tty = b;
            else if (is_flag(argv[i], "--detach", "-d", &b))
                o.detach = b;
            else if (is_flag(argv[i], "--no-new-privs", NULL, &b))
                o.no_new_privs = b;
            else if (is_flag(argv[i], "--ignore-paused", NULL, NULL))
                ;
            else if (argv[i][0] == '-')
                return unknown_option(cmd, argv[i]);
            else
                o.id = argv[i];
        }
        if (!o.id) {
            err_msg(1, "exec: a container id is required");
            return fail();
        }
        if (i < argc && strcmp(argv[i], "--") == 0)
            i++;
        o.args = argv + i;
        o.nargs = argc - i;
        if (ensure_cloned_binary(argv, envp) < 0) /* the process in the container must never see our file */
            return fail();
        int rc = cmd_exec(&o);
        return rc < 0 ? fail() : rc;
    }

    if (strcmp(cmd, "ps") == 0) {
        bool json = false;
        const char *id = NULL;
        for (; i < argc && !id; i++) {
            const char *v;
            if ((v = opt_value(argc, argv, &i, "--format", "-f")))
                json = strcmp(v, "json") == 0;
            else if (argv[i][0] == '-')
                return unknown_option(cmd, argv[i]);
            else
                id = argv[i];
        }
        if (!id) {
            err_msg(1, "ps: a container id is required");
            return fail();
        }
        if (i < argc && strcmp(argv[i], "--") == 0)
            i++;
        return cmd_ps(id, json, argv + i, argc - i) < 0 ? fail() : 0;
    }

    bool force = false, all = false, quiet = false, json = false;
    const char *id = NULL, *extra = NULL;
    for (; i < argc; i++) {
        const char *v;
        if (strcmp(cmd, "list") == 0 && (v = opt_value(argc, argv, &i, "--format", "-f")))
            json = strcmp(v, "json") == 0;
        else if (is_flag(argv[i], "--force", "-f", &force))
            ;
        else if (is_flag(argv[i], "--all", "-a", &all))
            ;
        else if (is_flag(argv[i], "--quiet", "-q", &quiet))
            ;
        else if ((v = opt_value(argc, argv, &i, "--format", "-f")))
            json = strcmp(v, "json") == 0;
        else if (argv[i][0] == '-' && argv[i][1] && !(strcmp(cmd, "kill") == 0 && id))
            return unknown_option(cmd, argv[i]);
        else if (!id)
            id = argv[i];
        else if (!extra)
            extra = argv[i];
        else {
            fprintf(stderr, "psc-runtime: unexpected argument %s\n", argv[i]);
            return 1;
        }
    }
    int r;
    if (strcmp(cmd, "list") == 0)
        r = cmd_list(quiet, json);
    else if (!id) {
        if (strcmp(cmd, "start") && strcmp(cmd, "state") && strcmp(cmd, "kill") && strcmp(cmd, "delete") &&
            strcmp(cmd, "pause") && strcmp(cmd, "resume")) {
            fprintf(stderr, "psc-runtime: unknown command %s\n", cmd);
            usage(stderr);
            return 1;
        }
        err_msg(1, "%s: a container id is required", cmd);
        r = -1;
    } else if (strcmp(cmd, "start") == 0)
        r = cmd_start(id);
    else if (strcmp(cmd, "state") == 0)
        r = cmd_state(id);
    else if (strcmp(cmd, "kill") == 0)
        r = cmd_kill(id, extra, all);
    else if (strcmp(cmd, "delete") == 0)
        r = cmd_delete(id, force);
    else if (strcmp(cmd, "pause") == 0)
        r = cmd_pause(id, true);
    else if (strcmp(cmd, "resume") == 0)
        r = cmd_pause(id, false);
    else {
        fprintf(stderr, "psc-runtime: unknown command %s\n", cmd);
        usage(stderr);
        return 1;
    }
    return r < 0 ? fail() : 0;
}
