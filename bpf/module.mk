# bpf/: the eBPF exit and OOM watcher (docs/exitwatch.md).
#
# exitwatch.bpf.c is compiled by clang for the BPF target against the
# hand-written bpf/kernel-types-internal.h (CO-RE: no vmlinux.h, nothing from
# the build machine's kernel), linked by `bpftool gen object` and turned into a
# skeleton header that embeds the object; the loader (exitwatch.c) includes it.
bpf_LIBS := -lbpf -lelf -lz

BPF_CLANG ?= clang
# <linux/types.h> needs <asm/types.h>, which Debian keeps in the multiarch dir.
BPF_MULTIARCH_INC := /usr/include/$(shell gcc -print-multiarch 2>/dev/null)
# The kprobe fallback reads x86-64 registers; elsewhere it is left out.
BPF_TARGET_ARCH := $(if $(filter x86_64,$(shell uname -m)),-D__TARGET_ARCH_x86)
BPF_PROG_CFLAGS := -target bpf -O2 -g -Wall -Werror -I. -I$(BPF_MULTIARCH_INC) $(BPF_TARGET_ARCH)

$(BUILD)/bpf/exitwatch.bpf.clang.o: bpf/exitwatch.bpf.c bpf/exitwatch-events-internal.h \
		bpf/kernel-types-internal.h
	@mkdir -p $(@D)
	$(BPF_CLANG) $(BPF_PROG_CFLAGS) -c $< -o $@

$(BUILD)/bpf/exitwatch.bpf.obj: $(BUILD)/bpf/exitwatch.bpf.clang.o
	bpftool gen object $@ $<

$(BUILD)/bpf/exitwatch.skel.h: $(BUILD)/bpf/exitwatch.bpf.obj
	bpftool gen skeleton $< name exitwatch_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/exitwatch.o: $(BUILD)/bpf/exitwatch.skel.h

# sandboxd-bpf-uninstall [PIN_DIR]: removes the watcher's pins (the daemon's
# --bpf-dir; default /sys/fs/bpf/sandboxd).
$(BUILD)/sandboxd-bpf-uninstall: $(BUILD)/bpf/tools/sandboxd-bpf-uninstall.o $(BUILD)/libbpf.a \
		$(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(filter %.o %.a,$^) $(SBX_LDFLAGS) $(bpf_LIBS) -o $@
PROGRAMS += $(BUILD)/sandboxd-bpf-uninstall

# Benchmark: _exit() → event latency and burst throughput (docs/benchmarks.md).
$(BUILD)/bench/bin/exitwatch: $(BUILD)/bench/exitwatch/bench-exitwatch.o $(BUILD)/libbpf.a \
		$(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(filter %.o %.a,$^) $(SBX_LDFLAGS) $(bpf_LIBS) -o $@
BENCHES += $(BUILD)/bench/bin/exitwatch
