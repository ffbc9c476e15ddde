# cgroups/: cgroup v2 manager (docs/cgroups.md).  The device program is assembled
# at run time from struct bpf_insn and loaded with libbpf's bpf_prog_load().
cgroups_LIBS := -lbpf -ljansson -lm
