/* linux.resources beyond the basic limits: memory reservation, swappiness and the OOM killer, cpusets, realtime,
 * burst and idle cpu settings, block I/O weights and throttles, huge pages, net_cls/net_prio and v2's "unified"
 * map. Each is written to the files runc writes, on cgroup v1 and v2; a field this host cannot apply (its
 * controller is not mounted, the v1-only field on a v2 host, a deprecated kernel-memory limit) is an error before
 * anything is written, never a silent drop. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"

static json_object *field(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
        json_object_is_type(v, json_type_null))
        return NULL;
    return v;
}

static bool i64_field(json_object *o, const char *key, int64_t *out)
{
    json_object *v = field(o, key);
    if (!v)
        return false;
    *out = json_object_get_int64(v);
    return true;
}

static void *alloc_array(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

/* [{"major":8,"minor":0,"rate"|"weight":N}] */
static int devnum_values(json_object *a, const char *value_key, struct rt_devnum_value **out, size_t *n)
{
    *n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
    *out = alloc_array(*n, sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        json_object *e = json_object_array_get_idx(a, i);
        int64_t v;
        if (!i64_field(e, "major", &(*out)[i].major) || !i64_field(e, "minor", &(*out)[i].minor) ||
            (*out)[i].major < 0 || (*out)[i].minor < 0)
            return err_msg(1, "config.json: a blockIO device entry needs major and minor numbers");
        if (!i64_field(e, value_key, &v) || v < 0)
            return err_msg(1, "config.json: blockIO device %" PRId64 ":%" PRId64 " needs a %s", (*out)[i].major,
                           (*out)[i].minor, value_key);
        (*out)[i].value = (uint64_t)v;
    }
    return 0;
}

static int parse_memory(json_object *m, struct rt_resources *x)
{
    int64_t v;
    x->has_mem_reservation = i64_field(m, "reservation", &x->mem_reservation);
    if ((x->has_swappiness = i64_field(m, "swappiness", &v))) {
        if (v < 0 || v > 100)
            return err_msg(1, "config.json: memory.swappiness %" PRId64 " is not within 0..100", v);
        x->swappiness = (uint64_t)v;
    }
    json_object *oom = field(m, "disableOOMKiller");
    x->disable_oom_killer = oom && json_object_get_boolean(oom);
    /* Kernel memory limits were removed from the kernel (v1 kmem is deprecated, v2 never had it). */
    if ((i64_field(m, "kernel", &v) && v != 0) || (i64_field(m, "kernelTCP", &v) && v != 0))
        return err_msg(1, "config.json: memory.kernel and memory.kernelTCP limits are not supported (deprecated by the kernel)");
    json_object *hier = field(m, "useHierarchy");
    if (hier && !json_object_get_boolean(hier))
        return err_msg(1, "config.json: memory.useHierarchy false is not supported: memory cgroups are always hierarchical");
    return 0;
}

static int parse_cpu(json_object *c, struct rt_resources *x)
{
    int64_t v;
    json_object *cpus = field(c, "cpus"), *mems = field(c, "mems");
    x->cpuset_cpus = cpus ? json_object_get_string(cpus) : NULL;
    x->cpuset_mems = mems ? json_object_get_string(mems) : NULL;
    x->has_rt_runtime = i64_field(c, "realtimeRuntime", &x->rt_runtime);
    if ((x->has_rt_period = i64_field(c, "realtimePeriod", &v)))
        x->rt_period = (uint64_t)v;
    if ((x->has_cpu_burst = i64_field(c, "burst", &v)))
        x->cpu_burst = (uint64_t)v;
    x->has_cpu_idle = i64_field(c, "idle", &x->cpu_idle);
    if (x->has_cpu_idle && x->cpu_idle != 0 && x->cpu_idle != 1)
        return err_msg(1, "config.json: cpu.idle must be 0 or 1");
    return 0;
}

static int parse_block_io(json_object *b, struct rt_resources *x)
{
    int64_t v;
    if ((x->has_blkio_weight = i64_field(b, "weight", &v) && v != 0)) {
        if (v < 10 || v > 1000)
            return err_msg(1, "config.json: blockIO.weight %" PRId64 " is not within 10..1000", v);
        x->blkio_weight = (uint64_t)v;
    }
    if (i64_field(b, "leafWeight", &v) && v != 0)
        return err_msg(1, "config.json: blockIO.leafWeight is not supported (the CFQ scheduler that had it is gone)");
    static const char *const keys[THROTTLE_KINDS] = {"throttleReadBpsDevice", "throttleWriteBpsDevice",
                                                     "throttleReadIOPSDevice", "throttleWriteIOPSDevice"};
    for (int k = 0; k < THROTTLE_KINDS; k++)
        if (devnum_values(field(b, keys[k]), "rate", &x->throttle[k], &x->n_throttle[k]) < 0)
            return -1;
    json_object *wd = field(b, "weightDevice");
    size_t n = wd && json_object_is_type(wd, json_type_array) ? json_object_array_length(wd) : 0;
    for (size_t i = 0; i < n; i++)
        if (field(json_object_array_get_idx(wd, i), "leafWeight"))
            return err_msg(1, "config.json: blockIO.weightDevice leafWeight is not supported");
    if (devnum_values(wd, "weight", &x->weight_devices, &x->n_weight_devices) < 0)
        return -1;
    for (size_t i = 0; i < x->n_weight_devices; i++)
        if (x->weight_devices[i].value < 10 || x->weight_devices[i].value > 1000)
            return err_msg(1, "config.json: blockIO.weightDevice weight %" PRIu64 " is not within 10..1000", x->weight_devices[i].value);
    return 0;
}

int resources_parse(json_object *r, struct rt_resources *x)
{
    memset(x, 0, sizeof *x);
    if (parse_memory(field(r, "memory"), x) < 0 || parse_cpu(field(r, "cpu"), x) < 0 ||
        parse_block_io(field(r, "blockIO"), x) < 0)
        return -1;

    json_object *huge = field(r, "hugepageLimits");
    x->n_hugepages = huge && json_object_is_type(huge, json_type_array) ? json_object_array_length(huge) : 0;
    x->hugepage_sizes = alloc_array(x->n_hugepages, sizeof *x->hugepage_sizes);
    x->hugepage_limits = alloc_array(x->n_hugepages, sizeof *x->hugepage_limits);
    for (size_t i = 0; i < x->n_hugepages; i++) {
        json_object *e = json_object_array_get_idx(huge, i), *size = field(e, "pageSize");
        int64_t limit;
        x->hugepage_sizes[i] = size ? json_object_get_string(size) : NULL;
        if (!x->hugepage_sizes[i] || !*x->hugepage_sizes[i] || strchr(x->hugepage_sizes[i], '/') ||
            !i64_field(e, "limit", &limit) || limit < 0)
            return err_msg(1, "config.json: a hugepageLimits entry needs a pageSize (e.g. \"2MB\") and a limit");
        x->hugepage_limits[i] = (uint64_t)limit;
    }

    json_object *net = field(r, "network"), *prios = field(net, "priorities");
    int64_t v;
    if ((x->has_classid = i64_field(net, "classID", &v)))
        x->classid = (uint32_t)v;
    x->n_ifprio = prios && json_object_is_type(prios, json_type_array) ? json_object_array_length(prios) : 0;
    x->ifprio_names = alloc_array(x->n_ifprio, sizeof *x->ifprio_names);
    x->ifprio_values = alloc_array(x->n_ifprio, sizeof *x->ifprio_values);
    for (size_t i = 0; i < x->n_ifprio; i++) {
        json_object *e = json_object_array_get_idx(prios, i), *name = field(e, "name");
        x->ifprio_names[i] = name ? json_object_get_string(name) : NULL;
        if (!x->ifprio_names[i] || !*x->ifprio_names[i] || !i64_field(e, "priority", &v))
            return err_msg(1, "config.json: a network.priorities entry needs a name and a priority");
        x->ifprio_values[i] = (uint32_t)v;
    }

    json_object *rdma = field(r, "rdma");
    if (rdma && json_object_is_type(rdma, json_type_object) && json_object_object_length(rdma) > 0)
        return err_msg(1, "config.json: linux.resources.rdma is not supported by psc-runtime");

    json_object *unified = field(r, "unified");
    x->n_unified = unified && json_object_is_type(unified, json_type_object) ? (size_t)json_object_object_length(unified) : 0;
    x->unified_keys = alloc_array(x->n_unified, sizeof *x->unified_keys);
    x->unified_values = alloc_array(x->n_unified, sizeof *x->unified_values);
    size_t i = 0;
    if (x->n_unified) {
        json_object_object_foreach(unified, key, val) {
            if (!*key || strchr(key, '/') || key[0] == '.')
                return err_msg(1, "config.json: linux.resources.unified key \"%s\" is not a cgroup file name", key);
            x->unified_keys[i] = key;
            x->unified_values[i++] = json_object_get_string(val);
        }
    }
    return 0;
}

static bool any_ctrl(const struct rt_cgroup *cg, const char *name)
{
    for (size_t i = 0; i < cg->n; i++)
        if (cgroup_has_ctrl(cg, i, name))
            return true;
    return false;
}

static int need_v1_ctrl(const struct rt_cgroup *cg, const char *ctrl, const char *what)
{
    if (!any_ctrl(cg, ctrl))
        return err_msg(1, "%s needs the %s cgroup controller, which this host has not mounted", what, ctrl);
    return 0;
}

int resources_check(const struct rt_resources *x, const struct rt_cgroup *cg)
{
    bool blkio = x->has_blkio_weight || x->n_weight_devices;
    for (int k = 0; k < THROTTLE_KINDS; k++)
        blkio |= x->n_throttle[k] > 0;
    if (cg->v2) {
        if (x->has_swappiness)
            return err_msg(1, "memory.swappiness cannot be set on cgroup v2 (it has no per-cgroup swappiness)");
        if (x->disable_oom_killer)
            return err_msg(1, "memory.disableOOMKiller cannot be set on cgroup v2 (it has no per-cgroup OOM killer switch)");
        if (x->has_rt_runtime || x->has_rt_period)
            return err_msg(1, "cpu.realtimeRuntime and realtimePeriod cannot be set on cgroup v2");
        if (x->has_classid || x->n_ifprio)
            return err_msg(1, "network.classID and network.priorities need the v1 net_cls/net_prio controllers, which cgroup v2 does not have");
        return 0;
    }
    if (x->n_unified)
        return err_msg(1, "linux.resources.unified needs cgroup v2; this host runs cgroup v1");
    if ((x->has_mem_reservation || x->has_swappiness || x->disable_oom_killer) && need_v1_ctrl(cg, "memory", "memory settings") < 0)
        return -1;
    if ((x->cpuset_cpus || x->cpuset_mems) && need_v1_ctrl(cg, "cpuset", "cpu.cpus and cpu.mems") < 0)
        return -1;
    if ((x->has_rt_runtime || x->has_rt_period || x->has_cpu_burst || x->has_cpu_idle) && need_v1_ctrl(cg, "cpu", "cpu settings") < 0)
        return -1;
    if (blkio && need_v1_ctrl(cg, "blkio", "blockIO settings") < 0)
        return -1;
    if (x->n_hugepages && need_v1_ctrl(cg, "hugetlb", "hugepageLimits") < 0)
        return -1;
    if (x->has_classid && need_v1_ctrl(cg, "net_cls", "network.classID") < 0)
        return -1;
    if (x->n_ifprio && need_v1_ctrl(cg, "net_prio", "network.priorities") < 0)
        return -1;
    return 0;
}

static bool has_file(const char *dir, const char *file)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return access(path, F_OK) == 0;
}

/* The first of the candidate files this cgroup has (schedulers differ: bfq's or the generic one), or an error. */
static const char *pick_file(const char *dir, const char *first, const char *second, const char *what)
{
    if (has_file(dir, first))
        return first;
    if (second && has_file(dir, second))
        return second;
    err_msg(1, "%s cannot be applied: %s has no %s%s%s (no I/O scheduler with weights on this host)", what, dir,
            first, second ? " or " : "", second ? second : "");
    return NULL;
}

static int write_devnum(const char *dir, const char *file, const struct rt_devnum_value *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cgroup_write(dir, file, "%" PRId64 ":%" PRId64 " %" PRIu64, v[i].major, v[i].minor, v[i].value) < 0)
            return -1;
    return 0;
}

static int apply_block_io_v1(const struct rt_resources *x, const char *d)
{
    if (x->has_blkio_weight || x->n_weight_devices) {
        const char *weight = pick_file(d, "blkio.weight", "blkio.bfq.weight", "blockIO.weight");
        const char *device = pick_file(d, "blkio.weight_device", "blkio.bfq.weight_device", "blockIO.weightDevice");
        if (!weight || !device)
            return -1;
        if (x->has_blkio_weight && cgroup_write(d, weight, "%" PRIu64, x->blkio_weight) < 0)
            return -1;
        if (write_devnum(d, device, x->weight_devices, x->n_weight_devices) < 0)
            return -1;
    }
    static const char *const files[THROTTLE_KINDS] = {"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
                                                      "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
    for (int k = 0; k < THROTTLE_KINDS; k++)
        if (write_devnum(d, files[k], x->throttle[k], x->n_throttle[k]) < 0)
            return -1;
    return 0;
}

int resources_apply_v1(const struct rt_resources *x, const struct rt_cgroup *cg, size_t i)
{
    const char *d = cg->path[i];
    if (cgroup_has_ctrl(cg, i, "memory")) {
        if (x->has_mem_reservation && cgroup_write(d, "memory.soft_limit_in_bytes", "%" PRId64, x->mem_reservation) < 0)
            return -1;
        if (x->has_swappiness && cgroup_write(d, "memory.swappiness", "%" PRIu64, x->swappiness) < 0)
            return -1;
        if (x->disable_oom_killer && cgroup_write(d, "memory.oom_control", "1") < 0)
            return -1;
    }
    if (cgroup_has_ctrl(cg, i, "cpuset")) {
        if (x->cpuset_cpus && *x->cpuset_cpus && cgroup_write(d, "cpuset.cpus", "%s", x->cpuset_cpus) < 0)
            return -1;
        if (x->cpuset_mems && *x->cpuset_mems && cgroup_write(d, "cpuset.mems", "%s", x->cpuset_mems) < 0)
            return -1;
    }
    if (cgroup_has_ctrl(cg, i, "cpu")) {
        /* the period first: a runtime longer than the current period is refused */
        if (x->has_rt_period && cgroup_write(d, "cpu.rt_period_us", "%" PRIu64, x->rt_period) < 0)
            return -1;
        if (x->has_rt_runtime && cgroup_write(d, "cpu.rt_runtime_us", "%" PRId64, x->rt_runtime) < 0)
            return -1;
        if (x->has_cpu_burst && cgroup_write(d, "cpu.cfs_burst_us", "%" PRIu64, x->cpu_burst) < 0)
            return -1;
        if (x->has_cpu_idle && cgroup_write(d, "cpu.idle", "%" PRId64, x->cpu_idle) < 0)
            return -1;
    }
    if (cgroup_has_ctrl(cg, i, "blkio") && apply_block_io_v1(x, d) < 0)
        return -1;
    if (cgroup_has_ctrl(cg, i, "hugetlb")) {
        for (size_t k = 0; k < x->n_hugepages; k++) {
            char file[128];
            snprintf(file, sizeof file, "hugetlb.%s.limit_in_bytes", x->hugepage_sizes[k]);
            if (cgroup_write(d, file, "%" PRIu64, x->hugepage_limits[k]) < 0)
                return -1;
        }
    }
    if (cgroup_has_ctrl(cg, i, "net_cls") && x->has_classid && cgroup_write(d, "net_cls.classid", "%" PRIu32, x->classid) < 0)
        return -1;
    if (cgroup_has_ctrl(cg, i, "net_prio"))
        for (size_t k = 0; k < x->n_ifprio; k++)
            if (cgroup_write(d, "net_prio.ifpriomap", "%s %" PRIu32, x->ifprio_names[k], x->ifprio_values[k]) < 0)
                return -1;
    return 0;
}

static int apply_block_io_v2(const struct rt_resources *x, const char *d)
{
    if (x->has_blkio_weight || x->n_weight_devices) {
        /* bfq takes the v1 range (10..1000) as is; io.weight (iocost) is 1..10000, converted as runc does */
        bool bfq = has_file(d, "io.bfq.weight");
        const char *file = bfq ? "io.bfq.weight" : pick_file(d, "io.weight", NULL, "blockIO.weight");
        if (!file)
            return -1;
        uint64_t w = bfq ? x->blkio_weight : 1 + (x->blkio_weight - 10) * 9999 / 990;
        if (x->has_blkio_weight && cgroup_write(d, file, "default %" PRIu64, w) < 0)
            return -1;
        for (size_t i = 0; i < x->n_weight_devices; i++) {
            const struct rt_devnum_value *v = &x->weight_devices[i];
            uint64_t dw = bfq ? v->value : 1 + (v->value - 10) * 9999 / 990;
            if (cgroup_write(d, file, "%" PRId64 ":%" PRId64 " %" PRIu64, v->major, v->minor, dw) < 0)
                return -1;
        }
    }
    static const char *const keys[THROTTLE_KINDS] = {"rbps", "wbps", "riops", "wiops"};
    for (int k = 0; k < THROTTLE_KINDS; k++)
        for (size_t i = 0; i < x->n_throttle[k]; i++) {
            const struct rt_devnum_value *v = &x->throttle[k][i];
            if (cgroup_write(d, "io.max", "%" PRId64 ":%" PRId64 " %s=%" PRIu64, v->major, v->minor, keys[k], v->value) < 0)
                return -1;
        }
    return 0;
}

int resources_apply_v2(const struct rt_resources *x, const char *d)
{
    if (x->has_mem_reservation && cgroup_write(d, "memory.low", "%" PRId64, x->mem_reservation) < 0)
        return -1;
    if (x->cpuset_cpus && *x->cpuset_cpus && cgroup_write(d, "cpuset.cpus", "%s", x->cpuset_cpus) < 0)
        return -1;
    if (x->cpuset_mems && *x->cpuset_mems && cgroup_write(d, "cpuset.mems", "%s", x->cpuset_mems) < 0)
        return -1;
    if (x->has_cpu_burst && cgroup_write(d, "cpu.max.burst", "%" PRIu64, x->cpu_burst) < 0)
        return -1;
    if (x->has_cpu_idle && cgroup_write(d, "cpu.idle", "%" PRId64, x->cpu_idle) < 0)
        return -1;
    if (apply_block_io_v2(x, d) < 0)
        return -1;
    for (size_t k = 0; k < x->n_hugepages; k++) {
        char file[128];
        snprintf(file, sizeof file, "hugetlb.%s.max", x->hugepage_sizes[k]);
        if (cgroup_write(d, file, "%" PRIu64, x->hugepage_limits[k]) < 0)
            return -1;
    }
    for (size_t k = 0; k < x->n_unified; k++)
        if (cgroup_write(d, x->unified_keys[k], "%s", x->unified_values[k]) < 0)
            return -1;
    return 0;
}
