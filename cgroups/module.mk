# cgroups/: cgroup v2 manager (docs/cgroups.md).  The device program is assembled
# at run time from struct bpf_insn and loaded with libbpf's bpf_prog_load().
cgroups_LIBS := -lbpf -ljansson -lm

# Benchmark: what a sandbox cgroup costs on the start/stop paths (docs/benchmarks.md).
$(BUILD)/bench/cgroups: bench/cgroups/bench-cgroups.c $(BUILD)/libcgroups.a $(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(SBX_CFLAGS) -MMD -MP $< $(BUILD)/libcgroups.a $(BUILD)/libcommon.a $(SBX_LDFLAGS) \
		$(cgroups_LIBS) -o $@
BENCHES += $(BUILD)/bench/cgroups
