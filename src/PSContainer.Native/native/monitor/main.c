/* psc-monitor entry point: command line, then detach, then monitor the container. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: psc-monitor --runtime PATH --runtime-root DIR --id ID --bundle DIR --log-path FILE\n"
    "       [--log-max-size BYTES --log-max-files N] [--tty | --stdin [--stdin-once]] [--attach-socket PATH]\n"
    "                   --exit-file FILE --pid-file FILE [--cgroup-path PATH] [--sync-fd N]\n"
    "       [--health-process FILE --health-status FILE --health-interval-ms MS --health-timeout-ms MS\n"
    "        --health-retries N [--health-start-period-ms MS --health-start-interval-ms MS]\n"
    "        [--events-file FILE --event-name NAME --event-image IMAGE]]\n"
    "       [--exit-command PATH [--exit-command-arg ARG]... [--exit-command-watch FILE]]\n"
    "       [--start] [--sealed-runtime]\n";

/* Paths are made absolute here because the detached monitor (and the runtime it runs) work from "/". */
static const char *abs_or_die(const char *name, const char *p)
{
    char *r = absolute_path(p);
    if (!r) {
        fprintf(stderr, "psc-monitor: --%s %s: cannot make the path absolute\n", name, p);
        exit(2);
    }
    return r;
}

int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"runtime", required_argument, 0, 'r'},   {"runtime-root", required_argument, 0, 'R'},
        {"id", required_argument, 0, 'i'},        {"bundle", required_argument, 0, 'b'},
        {"log-path", required_argument, 0, 'l'},  {"exit-file", required_argument, 0, 'e'},
        {"pid-file", required_argument, 0, 'p'},  {"cgroup-path", required_argument, 0, 'c'},
        {"sync-fd", required_argument, 0, 's'},   {"help", no_argument, 0, 'h'},
        {"log-max-size", required_argument, 0, 'S'}, {"log-max-files", required_argument, 0, 'F'},
        HEALTH_LONGOPTS
        {"exit-command", required_argument, 0, OPT_EXIT_COMMAND},
        {"exit-command-arg", required_argument, 0, OPT_EXIT_COMMAND_ARG},
        {"exit-command-watch", required_argument, 0, OPT_EXIT_COMMAND_WATCH},
        {"tty", no_argument, 0, 't'},              {"attach-socket", required_argument, 0, 'a'},
        {"stdin", no_argument, 0, 'I'},            {"stdin-once", no_argument, 0, 'O'},
        {"start", no_argument, 0, 'T'},            {"sealed-runtime", no_argument, 0, 'L'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->sync_fd = -1;
    o->log_max_files = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': o->runtime = strchr(optarg, '/') ? abs_or_die("runtime", optarg) : strdup(optarg); break;
        case 'R': o->runtime_root = abs_or_die("runtime-root", optarg); break;
        case 'i': o->id = strdup(optarg); break;
        case 'b': o->bundle = abs_or_die("bundle", optarg); break;
        case 'l': o->log_path = abs_or_die("log-path", optarg); break;
        case 'e': o->exit_file = abs_or_die("exit-file", optarg); break;
        case 'p': o->pid_file = abs_or_die("pid-file", optarg); break;
        case 'c': o->cgroup_path = strdup(optarg); break;
        case 's': {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || v < 0 || v > 1 << 20) {
                fprintf(stderr, "psc-monitor: --sync-fd %s: not a file descriptor number\n", optarg);
                return -1;
            }
            o->sync_fd = (int)v;
            break;
        }
        case 'S': case 'F': {
            char *end;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno || *end || v < (c == 'S' ? 0 : 1) || (c == 'F' && v > 1000)) {
                fprintf(stderr, "psc-monitor: --%s %s: not a valid number\n", c == 'S' ? "log-max-size" : "log-max-files", optarg);
                return -1;
            }
            if (c == 'S')
                o->log_max_size = v;
            else
                o->log_max_files = (int)v;
            break;
        }
        case OPT_EXIT_COMMAND: case OPT_EXIT_COMMAND_ARG: case OPT_EXIT_COMMAND_WATCH:
            if (exit_command_option(o, c, optarg) < 0)
                return -1;
            break;
        case 't': o->tty = true; break;
        case 'I': o->open_stdin = true; break;
        case 'O': o->stdin_once = true; break;
        case 'T': o->start = true; break;
        case 'L': o->sealed_runtime = true; break;
        case 'a': o->attach_socket = abs_or_die("attach-socket", optarg); break;
        case 'h': fputs(usage, stdout); exit(0);
        default: {
            int h = health_option(c, optarg, o);
            if (h == 1)
                break;
            if (h == 0)
                fputs(usage, stderr);
            return -1;
        }
        }
    }
    if (optind != argc) {
        fprintf(stderr, "psc-monitor: unexpected argument '%s'\n%s", argv[optind], usage);
        return -1;
    }
    const char *missing = !o->runtime ? "--runtime" : !o->id ? "--id" : !o->bundle ? "--bundle"
                        : !o->log_path ? "--log-path" : !o->exit_file ? "--exit-file"
                        : !o->pid_file ? "--pid-file" : NULL;
    if (missing) {
        fprintf(stderr, "psc-monitor: %s is required\n%s", missing, usage);
        return -1;
    }
    if (health_check_options(o) < 0)
        return -1;
    if (o->tty && o->open_stdin) {
        fprintf(stderr, "psc-monitor: --stdin is for a container without --tty (a terminal carries its own input)\n");
        return -1;
    }
    if (o->sealed_runtime && !strchr(o->runtime, '/')) {
        fprintf(stderr, "psc-monitor: --sealed-runtime needs the runtime's path, not a name to search for\n");
        return -1;
    }
    if (o->stdin_once && !o->open_stdin) {
        fprintf(stderr, "psc-monitor: --stdin-once needs --stdin\n");
        return -1;
    }
    if ((o->tty || o->open_stdin) != (o->attach_socket != NULL)) {
        fprintf(stderr, "psc-monitor: --attach-socket goes with --tty or --stdin, and they need it\n%s", usage);
        return -1;
    }
    if (!*o->id || strchr(o->id, '/')) {
        fprintf(stderr, "psc-monitor: --id '%s' is not a valid container id\n", o->id);
        return -1;
    }
    if (o->sync_fd >= 0 && fcntl(o->sync_fd, F_GETFD) < 0) {
        fprintf(stderr, "psc-monitor: --sync-fd %d: %s\n", o->sync_fd, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_args(argc, argv, &o) < 0) {
        if (o.sync_fd >= 0 && fcntl(o.sync_fd, F_GETFD) >= 0)
            sync_report_fail(o.sync_fd, MON_SELF_FAILURE, "psc-monitor: invalid command line");
        return 2;
    }
    /* The process the engine started exits here with status 0; only the grandchild returns. */
    if (daemonize() < 0) {
        sync_report_fail(o.sync_fd, MON_SELF_FAILURE, "psc-monitor: cannot detach (fork failed)");
        _exit(1);
    }
    o.sync_fd = keep_only_fd(o.sync_fd);
    set_process_name(o.id, argc, argv);
    return monitor_run(&o);
}
