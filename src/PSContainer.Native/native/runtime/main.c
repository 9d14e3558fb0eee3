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
    fprintf(f, "usage: psc-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND [OPTIONS] ID\n"
               "commands:\n"
               "  create [--bundle DIR] [--pid-file FILE] [--console-socket PATH] ID\n"
               "  start ID\n"
               "  run [--bundle DIR] [--pid-file FILE] [--detach] ID\n"
               "  state ID\n"
               "  kill [--all] ID [SIGNAL]\n"
               "  delete [--force] ID\n"
               "  list [-q] [--format table|json]\n");
}

/* "--name value" or "--name=value"; returns the value or NULL when ARG is not that option */
static const char *opt_value(int argc, char **argv, int *i, const char *name, const char *shortname)
{
    const char *a = argv[*i];
    while (*a == '-' && a[1] == '-' && strlen(name) > 1 && a[2] == '-')
        a++;
    size_t l = strlen(name);
    if (strncmp(a, name, l) == 0 && a[l] == '=')
        return a + l + 1;
    if (strcmp(a, name) == 0 || (shortname && strcmp(a, shortname) == 0)) {
        if (*i + 1 >= argc)
            return NULL;
        return argv[++*i];
    }
    return NULL;
}

static bool is_flag(const char *a, const char *name, const char *shortname)
{
    return strcmp(a, name) == 0 || (shortname && strcmp(a, shortname) == 0);
}

static int fail(void)
{
    log_error(g_err.msg);
    return g_err.code ? g_err.code : 1;
}

int main(int argc, char **argv, char **envp)
{
    const char *log_path = NULL, *log_format = "text";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *v;
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
            printf("psc-runtime version %s\nspec: %s\n", PSC_VERSION, PSC_OCI_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if ((v = opt_value(argc, argv, &i, "--root", NULL))) {
            g_root = v;
        } else if ((v = opt_value(argc, argv, &i, "--log", NULL))) {
            log_path = v;
        } else if ((v = opt_value(argc, argv, &i, "--log-format", NULL))) {
            log_format = v;
        } else if (strcmp(argv[i], "--debug") == 0 || strcmp(argv[i], "--systemd-cgroup") == 0) {
            /* accepted for runc compatibility; we have nothing more to say and no systemd driver */
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
            else if (is_flag(argv[i], "--detach", "-d"))
                detach = true;
            else if (is_flag(argv[i], "--no-pivot", NULL) || is_flag(argv[i], "--no-new-keyring", NULL))
                ;
            else if (argv[i][0] == '-') {
                fprintf(stderr, "psc-runtime: unknown option %s for %s\n", argv[i], cmd);
                return 1;
            } else
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

    bool force = false, all = false, quiet = false, json = false;
    const char *id = NULL, *extra = NULL;
    for (; i < argc; i++) {
        const char *v;
        if (is_flag(argv[i], "--force", "-f"))
            force = true;
        else if (is_flag(argv[i], "--all", "-a"))
            all = true;
        else if (is_flag(argv[i], "--quiet", "-q"))
            quiet = true;
        else if ((v = opt_value(argc, argv, &i, "--format", "-f")))
            json = strcmp(v, "json") == 0;
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
    if (strcmp(cmd, "list") == 0 || strcmp(cmd, "ps") == 0)
        r = cmd_list(quiet, json);
    else if (!id) {
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
    else {
        fprintf(stderr, "psc-runtime: unknown command %s\n", cmd);
        usage(stderr);
        return 1;
    }
    return r < 0 ? fail() : 0;
}
