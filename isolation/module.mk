# isolation/: OCI spec → sandbox (docs/isolation.md).
#
# sandbox-init (isolation/init/) is linked statically, without the sanitizers
# (it runs inside any rootfs), and embedded into libisolation.a by
# isolation/init-blob.c through .incbin.
isolation_LIBS := -lseccomp -lmnl -lcap -ljansson
isolation_CFLAGS = -DISO_INIT_BIN='"$(BUILD)/isolation/init/sandbox-init"' \
	-DISO_TEST_PROBE='"$(abspath $(BUILD))/tests/isolation-probe"'

ISO_INIT_CC ?= gcc
# x86-64: freestanding (no libc start-up: the second exec per sandbox stays cheap);
# elsewhere: the same source linked statically against libc.
ifneq ($(findstring x86_64,$(shell $(ISO_INIT_CC) -dumpmachine)),)
ISO_INIT_FLAGS := -DISO_INIT_FREESTANDING -ffreestanding -nostdlib -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fcf-protection=none
endif
$(BUILD)/isolation/init/sandbox-init: isolation/init/sandbox-init.c isolation/sync-internal.h
	@mkdir -p $(@D)
	$(ISO_INIT_CC) -std=gnu11 -O2 -g0 -D_GNU_SOURCE -I. -Wall -Wextra $(ISO_INIT_FLAGS) -static -s \
		$< -o $@

$(BUILD)/isolation/init-blob.o: $(BUILD)/isolation/init/sandbox-init

# Helper run inside sandboxes by tests/unit/test-isolation*.c.
$(BUILD)/tests/isolation-probe: tests/unit/isolation-probe.c
	@mkdir -p $(@D)
	$(ISO_INIT_CC) -std=gnu11 -O2 -g -D_GNU_SOURCE -Wall -Wextra $< -o $@
PROGRAMS += $(BUILD)/tests/isolation-probe


# Benchmark: spawn → exit of /bin/true vs a raw clone3 floor (docs/benchmarks.md).
$(BUILD)/bench/bin/spawn: $(BUILD)/bench/spawn/bench-spawn.o $(BUILD)/libisolation.a \
		$(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(filter %.o %.a,$^) $(SBX_LDFLAGS) $(isolation_LIBS) -o $@
BENCHES += $(BUILD)/bench/bin/spawn
