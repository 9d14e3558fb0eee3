using System.Text.Json.Nodes;
using PSContainer.Engine;
using PSContainer.Engine.Containers;
using PSContainer.Engine.Security;
using Xunit;

namespace PSContainer.Tests;

/// <summary>The default seccomp profile (Docker's), its resolution by capabilities, and -SecurityOption.</summary>
public sealed class SeccompProfileTests
{
    private static readonly string[] DockerCaps = RuntimeSpecBuilder.DefaultCapabilities;

    private static JsonObject Resolve(params string[] extraCaps) =>
        DefaultSeccompProfile.Build().ToSpec(DockerCaps.Concat(extraCaps).ToHashSet(), SeccompArch.Current);

    private static IEnumerable<JsonObject> Rules(JsonObject spec) => spec["syscalls"]!.AsArray().Select(r => r!.AsObject());

    private static string[] Names(JsonObject rule) => rule["names"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();

    /// <summary>Calls an ALLOW rule without argument conditions lets through.</summary>
    private static HashSet<string> Allowed(JsonObject spec) => Rules(spec)
        .Where(r => (string)r["action"]! == "SCMP_ACT_ALLOW" && r["args"] is null)
        .SelectMany(Names).ToHashSet();

    /// <summary>Calls allowed only with some argument values.</summary>
    private static HashSet<string> Conditional(JsonObject spec) => Rules(spec)
        .Where(r => (string)r["action"]! == "SCMP_ACT_ALLOW" && r["args"] is not null)
        .SelectMany(Names).ToHashSet();

    [Fact]
    public void DefaultIsAnAllowListThatFailsEverythingElseWithEperm()
    {
        var spec = Resolve();
        Assert.Equal("SCMP_ACT_ERRNO", (string)spec["defaultAction"]!);
        Assert.Equal(1u, (uint)spec["defaultErrnoRet"]!);
        if (SeccompArch.Current.Native == "SCMP_ARCH_X86_64")
            Assert.Equal(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], spec["architectures"]!.AsArray().Select(a => (string)a!));
        var allowed = Allowed(spec);
        foreach (string call in new[] { "read", "write", "execve", "openat", "futex", "exit_group", "capset", "setresuid" })
            Assert.Contains(call, allowed);
        // What the issue's probes check, and what Docker denies without capabilities: keyrings are not namespaced,
        // the rest needs CAP_SYS_ADMIN, CAP_SYS_BOOT, CAP_SYS_MODULE, CAP_SYS_TIME...
        foreach (string call in new[] { "mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "bpf", "perf_event_open",
                     "reboot", "init_module", "finit_module", "delete_module", "kexec_load", "open_by_handle_at", "settimeofday", "acct",
                     "swapon", "userfaultfd", "clone3", "fsopen", "move_mount", "kcmp", "pidfd_getfd", "io_uring_setup" })
        {
            Assert.DoesNotContain(call, allowed);
            Assert.DoesNotContain(call, Conditional(spec));
        }
    }

    [Fact]
    public void CloneMayNotMakeNamespacesWithoutSysAdminAndClone3GetsEnosys()
    {
        var spec = Resolve();
        var clone = Rules(spec).Single(r => Names(r).SequenceEqual(["clone"]));
        var arg = clone["args"]!.AsArray().Single()!;
        Assert.Equal("SCMP_CMP_MASKED_EQ", (string)arg["op"]!);
        Assert.Equal(0x7E020000UL, (ulong)arg["value"]!);
        Assert.Equal(0UL, (ulong)arg["valueTwo"]!);
        var clone3 = Rules(spec).Single(r => Names(r).Contains("clone3"));
        Assert.Equal("SCMP_ACT_ERRNO", (string)clone3["action"]!);
        Assert.Equal(38u, (uint)clone3["errnoRet"]!);

        var admin = Resolve("CAP_SYS_ADMIN");
        Assert.Contains("clone", Allowed(admin));
        Assert.Contains("clone3", Allowed(admin));
        Assert.DoesNotContain(Rules(admin), r => Names(r).Contains("clone3") && (string)r["action"]! != "SCMP_ACT_ALLOW");
        foreach (string call in new[] { "mount", "umount2", "unshare", "setns", "bpf", "perf_event_open" })
            Assert.Contains(call, Allowed(admin));
    }

    [Fact]
    public void PersonalityIsLimitedToLinuxPersonalities()
    {
        var values = Rules(Resolve()).Where(r => Names(r).SequenceEqual(["personality"]))
            .Select(r => r["args"]!.AsArray().Single()!).Select(a => ((string)a["op"]!, (ulong)a["value"]!)).ToArray();
        Assert.Equal(new ulong[] { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff }.Select(v => ("SCMP_CMP_EQ", v)), values);
        Assert.DoesNotContain("personality", Allowed(Resolve()));
    }

    [Theory]
    [InlineData("CAP_SYS_PTRACE", "kcmp")]
    [InlineData("CAP_SYS_PTRACE", "pidfd_getfd")]
    [InlineData("CAP_SYS_MODULE", "finit_module")]
    [InlineData("CAP_SYS_BOOT", "reboot")]
    [InlineData("CAP_SYS_TIME", "clock_settime")]
    [InlineData("CAP_BPF", "bpf")]
    [InlineData("CAP_PERFMON", "perf_event_open")]
    [InlineData("CAP_DAC_READ_SEARCH", "open_by_handle_at")]
    [InlineData("CAP_SYS_NICE", "mbind")]
    public void ACapabilityAllowsItsCalls(string capability, string call)
    {
        Assert.DoesNotContain(call, Allowed(Resolve()));
        Assert.Contains(call, Allowed(Resolve(capability)));
    }

    [Fact]
    public void RulesFollowTheSpecsBoundingSet()
    {
        // The spec's bounding set decides, so a container with more capabilities gets their calls.
        var spec = new JsonObject
        {
            ["process"] = new JsonObject { ["capabilities"] = new JsonObject { ["bounding"] = new JsonArray("CAP_SYS_ADMIN") } },
            ["linux"] = new JsonObject(),
        };
        ContainerSecurity.Parse([]).Apply(spec);
        Assert.Contains("mount", Allowed(spec["linux"]!["seccomp"]!.AsObject()));
        Assert.False((bool)spec["process"]!["noNewPrivileges"]!);
    }

    // ---- the differential: containers-common's profile (podman's, from Docker's) ----------------------------------

    private const string Reference = "/usr/share/containers/seccomp.json";

    /// <summary>
    /// Calls the reference allows that ours does not, on purpose. containers-common trusts the kernel's capability
    /// checks for these; Docker's profile, which we follow, also filters them, because a kernel bug behind one of them
    /// (user namespaces, new mount API, keyrings) is reachable from every container otherwise.
    /// </summary>
    private static readonly Dictionary<string, string> ReferenceOnly = new()
    {
        ["clone"] = "Docker: without CAP_SYS_ADMIN only clone without namespace flags (an argument rule, not an unconditional allow)",
        ["clone3"] = "Docker: ENOSYS without CAP_SYS_ADMIN (its flags are out of seccomp's reach), so glibc falls back to clone",
        ["mount"] = "Docker: CAP_SYS_ADMIN only", ["umount"] = "Docker: CAP_SYS_ADMIN only", ["umount2"] = "Docker: CAP_SYS_ADMIN only",
        ["unshare"] = "Docker: CAP_SYS_ADMIN only (unshare -U would give a user namespace with every capability in it)",
        ["setns"] = "Docker: CAP_SYS_ADMIN only", ["syslog"] = "Docker: CAP_SYS_ADMIN or CAP_SYSLOG only",
        ["fsconfig"] = "Docker: new mount API, CAP_SYS_ADMIN only", ["fsmount"] = "Docker: new mount API, CAP_SYS_ADMIN only",
        ["fsopen"] = "Docker: new mount API, CAP_SYS_ADMIN only", ["fspick"] = "Docker: new mount API, CAP_SYS_ADMIN only",
        ["mount_setattr"] = "Docker: new mount API, CAP_SYS_ADMIN only", ["move_mount"] = "Docker: new mount API, CAP_SYS_ADMIN only",
        ["open_tree"] = "Docker: new mount API, CAP_SYS_ADMIN only",
        ["pivot_root"] = "Docker: not allowed (a container has no reason to move its root; the runtime does it before the filter)",
        ["keyctl"] = "Docker: denied, kernel keyrings are not namespaced (issue 11: host keys must not be readable inside)",
        ["reboot"] = "Docker: CAP_SYS_BOOT only",
        ["pidfd_getfd"] = "Docker: CAP_SYS_PTRACE only (it takes a file descriptor out of another process)",
        ["get_mempolicy"] = "Docker: CAP_SYS_NICE only", ["mbind"] = "Docker: CAP_SYS_NICE only", ["set_mempolicy"] = "Docker: CAP_SYS_NICE only",
        ["socket"] = "Docker: allowed for every family but AF_VSOCK (an argument rule), which reaches past the network namespace",
        ["query_module"] = "gone from Linux since 2.6; Docker does not list it",
        ["readdir"] = "32-bit x86 legacy call Docker's profile does not list (readdir via getdents is allowed)",
        ["sigaction"] = "32-bit x86 legacy call Docker's profile does not list (rt_sigaction is allowed)",
        ["signal"] = "32-bit x86 legacy call Docker's profile does not list (rt_sigaction is allowed)",
        ["sigpending"] = "32-bit x86 legacy call Docker's profile does not list (rt_sigpending is allowed)",
        ["sigsuspend"] = "32-bit x86 legacy call Docker's profile does not list (rt_sigsuspend is allowed)",
        ["syscall"] = "MIPS's indirect syscall, not on this profile's architectures in Docker's",
        ["timerfd"] = "an early name of timerfd_create that no kernel shipped; Docker does not list it",
    };

    /// <summary>Calls ours allows that the reference blocks, on purpose: Docker's current profile allows them.</summary>
    private static readonly Dictionary<string, string> OursOnly = new()
    {
        ["cachestat"] = "newer than containers-common 0.50 (Linux 6.5), which gives unlisted calls ENOSYS; Docker allows it",
        ["fchmodat2"] = "newer than containers-common 0.50 (Linux 6.6); Docker allows it (fchmodat is allowed by both)",
        ["futex_requeue"] = "newer than containers-common 0.50 (Linux 6.7); Docker allows it (futex is allowed by both)",
        ["futex_wait"] = "newer than containers-common 0.50 (Linux 6.7); Docker allows it",
        ["futex_wake"] = "newer than containers-common 0.50 (Linux 6.7); Docker allows it",
        ["futex_waitv"] = "newer than containers-common 0.50 (Linux 5.16); Docker allows it",
        ["map_shadow_stack"] = "newer than containers-common 0.50 (Linux 6.6, CET shadow stacks); Docker allows it",
        ["uretprobe"] = "newer than containers-common 0.50 (Linux 6.11, only returns from a uprobe trampoline); Docker allows it",
        ["quotactl_fd"] = "newer than containers-common 0.50; Docker allows it with CAP_SYS_ADMIN, like quotactl",
        ["io_pgetevents"] = "containers-common denies it; Docker allows it like io_getevents, which both allow",
        ["io_pgetevents_time64"] = "the 64-bit-time form of io_pgetevents, as above",
        ["vmsplice"] = "containers-common denies it; Docker allows it like splice and tee, which both allow",
    };

    [SkippableTheory]
    [InlineData("")]
    [InlineData("CAP_SYS_ADMIN")]
    [InlineData("CAP_SYS_PTRACE")]
    [InlineData("CAP_SYS_MODULE,CAP_SYS_BOOT,CAP_SYS_TIME")]
    public void AllowsAndBlocksWhatContainersCommonDoes(string moreCaps)
    {
        string[] extraCaps = moreCaps.Split(',', StringSplitOptions.RemoveEmptyEntries);
        Skip.IfNot(File.Exists(Reference), $"{Reference} is missing (Debian package golang-github-containers-common)");
        var caps = DockerCaps.Concat(extraCaps).ToHashSet();
        var reference = SeccompProfile.Parse(File.ReadAllText(Reference), Reference).ToSpec(caps, SeccompArch.Current);
        var ours = Resolve(extraCaps);
        var refAllowed = Allowed(reference);
        var ourAllowed = Allowed(ours);
        var missing = refAllowed.Except(ourAllowed).Where(c => !ReferenceOnly.ContainsKey(c)).Order().ToList();
        Assert.True(missing.Count == 0, $"with {string.Join(",", extraCaps)}: the reference allows, ours blocks: {string.Join(" ", missing)}");
        var extra = ourAllowed.Except(refAllowed).Where(c => !OursOnly.ContainsKey(c)).Order().ToList();
        Assert.True(extra.Count == 0, $"with {string.Join(",", extraCaps)}: ours allows, the reference blocks: {string.Join(" ", extra)}");
    }

    // ---- -SecurityOption --------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(new string[] { }, "seccomp=default", false)]
    [InlineData(new[] { "no-new-privileges" }, "seccomp=default", true)]
    [InlineData(new[] { "no-new-privileges=true" }, "seccomp=default", true)]
    [InlineData(new[] { "no-new-privileges:true" }, "seccomp=default", true)]
    [InlineData(new[] { "no-new-privileges=false" }, "seccomp=default", false)]
    [InlineData(new[] { "seccomp=unconfined" }, "seccomp=unconfined", false)]
    [InlineData(new[] { "seccomp:unconfined", "no-new-privileges" }, "seccomp=unconfined", true)]
    [InlineData(new[] { "label=disable" }, "seccomp=default", false)]
    [InlineData(new[] { "apparmor=unconfined" }, "seccomp=default", false)]
    public void SecurityOptionsParse(string[] options, string seccomp, bool nnp)
    {
        var s = ContainerSecurity.Parse(options);
        Assert.Equal(seccomp, s.ToOptions()[0]);
        Assert.Equal($"no-new-privileges={(nnp ? "true" : "false")}", s.ToOptions()[1]);
        var spec = new JsonObject { ["process"] = new JsonObject(), ["linux"] = new JsonObject() };
        s.Apply(spec);
        Assert.Equal(nnp, (bool)spec["process"]!["noNewPrivileges"]!);
        Assert.Equal(seccomp == "seccomp=unconfined", spec["linux"]!["seccomp"] is null);
        Assert.Null(spec["process"]!["apparmorProfile"]);
    }

    [Theory]
    [InlineData("seccomp", "InvalidSecurityOption")]
    [InlineData("no-new-privileges=maybe", "InvalidSecurityOption")]
    [InlineData("privileged", "InvalidSecurityOption")]
    [InlineData("seccomp=relative.json", "InvalidSecurityOption")]
    [InlineData("seccomp=/nonexistent/profile.json", "SeccompProfileNotFound")]
    [InlineData("label=user:someone", "SecurityOptionNotSupported")]
    public void BadSecurityOptionsAreErrors(string option, string errorId)
    {
        var e = Assert.Throws<EngineException>(() => ContainerSecurity.Parse([option]));
        Assert.Equal(errorId, e.ErrorId);
    }

    [SkippableFact]
    public void AnAppArmorProfileIsAnErrorWithoutAppArmor()
    {
        Skip.If(HostSecurity.AppArmorEnabled, "AppArmor is enabled on this host");
        var e = Assert.Throws<EngineException>(() => ContainerSecurity.Parse(["apparmor=docker-default"]));
        Assert.Equal("AppArmorNotEnabled", e.ErrorId);
    }

    [Theory]
    [InlineData("not json", "not a seccomp profile")]
    [InlineData("""{"defaultAction":"SCMP_ACT_NOPE"}""", "defaultAction")]
    [InlineData("""{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_BOGUS"}]}""", "SCMP_ACT_BOGUS")]
    [InlineData("""{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_ALMOST"}]}]}""", "SCMP_CMP_ALMOST")]
    [InlineData("""{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ALLOW","errnoRet":13}]}""", "errnoRet")]
    [InlineData("""{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_BOGUS"]}""", "SECCOMP_FILTER_FLAG_BOGUS")]
    [InlineData("""{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/run/agent.sock"}""", "default action")]
    [InlineData("""{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}""", "need listenerPath")]
    [InlineData("""{"defaultAction":"SCMP_ACT_ALLOW","listenerMetadata":"m"}""", "without listenerPath")]
    [InlineData("""{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"agent.sock","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}""", "absolute")]
    public void BadProfilesAreErrors(string json, string mention)
    {
        var e = Assert.Throws<EngineException>(() => ContainerSecurity.Parse(["seccomp=/p.json"], readFile: _ => json));
        Assert.Equal("InvalidSeccompProfile", e.ErrorId);
        Assert.Contains(mention, e.Message);
    }

    [Fact]
    public void AnAgentProfileKeepsItsListenerInTheSpec()
    {
        const string json = """{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock","listenerMetadata":"m=1","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}""";
        var o = new ContainerOptions { SecurityOptions = ["seccomp=/etc/agent.json"] };
        ContainerSecurity.Validate(o, _ => json);
        var spec = new JsonObject { ["process"] = new JsonObject(), ["linux"] = new JsonObject() };
        ContainerSecurity.Of(o).Apply(spec);
        var sc = spec["linux"]!["seccomp"]!;
        Assert.Equal("/run/agent.sock", (string)sc["listenerPath"]!);
        Assert.Equal("m=1", (string)sc["listenerMetadata"]!);
        Assert.Equal("SCMP_ACT_NOTIFY", (string)sc["syscalls"]!.AsArray().Single()!["action"]!);
    }

    [Fact]
    public void ACustomProfileIsStoredAsTextAndResolved()
    {
        const string json = """{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}""";
        var o = new ContainerOptions { SecurityOptions = ["seccomp=/etc/p.json", "no-new-privileges"] };
        ContainerSecurity.Validate(o, _ => json);
        Assert.Equal(["seccomp=/etc/p.json", "no-new-privileges=true"], o.SecurityOptions);
        Assert.Equal(json, o.SeccompProfile);
        var spec = new JsonObject { ["process"] = new JsonObject(), ["linux"] = new JsonObject() };
        ContainerSecurity.Of(o).Apply(spec);
        var rule = spec["linux"]!["seccomp"]!["syscalls"]!.AsArray().Single()!;
        Assert.Equal(13u, (uint)rule["errnoRet"]!);
        Assert.Equal("SCMP_ACT_ALLOW", (string)spec["linux"]!["seccomp"]!["defaultAction"]!);
        Assert.True((bool)spec["process"]!["noNewPrivileges"]!);
    }
}
