# sandboxd — one Makefile, one fragment per module.
#
#   make               build everything into build/
#   make test          install what is missing, build, run every suite
#   make test SANITIZE=1   the unit and integration suites under ASan+UBSan (build-san/)
#   make bench | fuzz | format | clean | run | install
#
# Each module directory may hold a module.mk that adds its libraries and its
# own rules (the BPF skeleton, the embedded sandbox-init).  Everything else is
# generic: a library module M is built from M/*.c into $(BUILD)/libM.a, and
# tests/unit/test-M*.c are linked against it.

BUILD ?= build
SANITIZE ?= 0
CC ?= gcc
PREFIX ?= /usr/local

FUZZ ?= 0

ifeq ($(SANITIZE),1)
override BUILD := $(BUILD)-san
endif
ifeq ($(FUZZ),1)
override BUILD := build-fuzz
CC := clang
endif

CFLAGS_BASE := -std=gnu11 -g -O2 -D_GNU_SOURCE -I. -I$(BUILD) \
	-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wformat=2 -Wno-format-truncation -Wshadow -Werror=implicit-function-declaration \
	-D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -fno-strict-aliasing
LDFLAGS_BASE := -pie -Wl,-z,relro,-z,now

ifeq ($(FUZZ),1)
CFLAGS_BASE += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-Wno-unknown-warning-option
LDFLAGS_BASE += -fsanitize=address,undefined
endif
ifeq ($(SANITIZE),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS_BASE += -fsanitize=address,undefined
endif

SBX_CFLAGS = $(CFLAGS_BASE) $(CFLAGS)
SBX_LDFLAGS = $(LDFLAGS_BASE) $(LDFLAGS)

# Library modules, in link order (a module after everything that needs it).
LIBMODULES := store isolation cgroups bpf common
common_LIBS :=

# Programs: name → sources and modules (set in module.mk files).
PROGRAMS :=
UNIT_TESTS :=
BENCHES :=

all: build-all

include $(wildcard */module.mk)

define lib_template
$(1)_SRCS := $$(filter-out %.bpf.c,$$(wildcard $(1)/*.c))
$(1)_OBJS := $$(patsubst %.c,$(BUILD)/%.o,$$($(1)_SRCS))
$(BUILD)/lib$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
PRESENT_LIBS := $(foreach m,$(LIBMODULES),$(if $(wildcard $(m)/*.c),$(m)))
$(foreach m,$(PRESENT_LIBS),$(eval $(call lib_template,$(m))))

# Every library and its external libraries, for programs that use them all.
ALL_LIBA := $(foreach m,$(PRESENT_LIBS),$(BUILD)/lib$(m).a)
ALL_LIBS := $(sort $(foreach m,$(PRESENT_LIBS),$($(m)_LIBS)))

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SBX_CFLAGS) $($(firstword $(subst /, ,$<))_CFLAGS) -MMD -MP -c $< -o $@

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Unit tests: tests/unit/test-M[-part].c links libM.a + libcommon.a + M's libraries.
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
unit_module = $(firstword $(subst -, ,$(patsubst tests/unit/test-%.c,%,$(1))))
define unit_template
$(BUILD)/tests/unit/$(basename $(notdir $(1))): $(1) $(BUILD)/lib$(call unit_module,$(1)).a \
		$(if $(filter common,$(call unit_module,$(1))),,$(BUILD)/libcommon.a)
	@mkdir -p $$(@D)
	$$(CC) $$(SBX_CFLAGS) $$($(call unit_module,$(1))_CFLAGS) -MMD -MP $$< \
		$$(filter %.a,$$^) $$(SBX_LDFLAGS) $$($(call unit_module,$(1))_LIBS) $$(common_LIBS) \
		-lcriterion -o $$@
UNIT_BINS += $(BUILD)/tests/unit/$(basename $(notdir $(1)))
endef
UNIT_BINS := $(EXTRA_UNIT_BINS)
$(foreach t,$(UNIT_SRCS),$(if $(filter $(call unit_module,$(t)),$(PRESENT_LIBS)),$(eval $(call unit_template,$(t)))))

# Fuzz targets: tests/fuzz/fuzz-M[-part].c, built with clang and libFuzzer (make fuzz).
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz-*.c)
define fuzz_template
$(BUILD)/tests/fuzz/$(basename $(notdir $(1))): $(1) $(BUILD)/lib$(call fuzz_module,$(1)).a \
		$(BUILD)/libcommon.a
	@mkdir -p $$(@D)
	$$(CC) $$(SBX_CFLAGS) $$($(call fuzz_module,$(1))_CFLAGS) -fsanitize=fuzzer $$< \
		$$(filter %.a,$$^) $$(SBX_LDFLAGS) -fsanitize=fuzzer $$($(call fuzz_module,$(1))_LIBS) -o $$@
FUZZ_BINS += $(BUILD)/tests/fuzz/$(basename $(notdir $(1)))
endef
fuzz_module = $(firstword $(subst -, ,$(patsubst tests/fuzz/fuzz-%.c,%,$(1))))
FUZZ_BINS :=
ifeq ($(FUZZ),1)
$(foreach t,$(FUZZ_SRCS),$(if $(filter $(call fuzz_module,$(t)),$(PRESENT_LIBS)),$(eval $(call fuzz_template,$(t)))))
endif
fuzz-build: $(FUZZ_BINS)

build-all: $(ALL_LIBA) $(PROGRAMS) $(UNIT_BINS)

# Per-module targets, for working on one module: make test-unit-store
test-unit-%: $(ALL_LIBA) $(PROGRAMS)
	@$(MAKE) --no-print-directory $(filter $(BUILD)/tests/unit/test-$*%,$(UNIT_BINS))
	@scripts/run-unit.sh $(filter $(BUILD)/tests/unit/test-$*%,$(UNIT_BINS))

deps:
	@scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory build-all
	@$(MAKE) --no-print-directory test-unit test-integration
ifneq ($(SANITIZE),1)
	@$(MAKE) --no-print-directory test-vm
endif

test-unit: build-all
	@scripts/run-unit.sh $(UNIT_BINS)

test-integration: build-all
	@if [ -x tests/integration/run.sh ]; then BUILD=$(BUILD) tests/integration/run.sh; \
	 else echo "test-integration: no integration suite yet"; fi

test-vm: build-all
	@if [ -x tests/vm/run-all.sh ]; then BUILD=$(BUILD) tests/vm/run-all.sh; \
	 else echo "test-vm: no VM suite yet"; fi

# The anchors (SQLite, LMDB, crun, runc, bwrap) are installed before anything is built.
bench:
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory build-all $(BENCHES)
	@BUILD=$(BUILD) scripts/run-bench.sh $(BENCHES)

# Each target runs FUZZ_SECONDS (default 60) from its seed corpus tests/fuzz/corpus/NAME/.
fuzz: deps
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-build
	@scripts/run-fuzz.sh $(patsubst tests/fuzz/%.c,build-fuzz/tests/fuzz/%,$(FUZZ_SRCS))

format:
	clang-format -i $$(git ls-files '*.c' '*.h' | grep -v -e '\.skel\.h$$' -e 'vmlinux')

clean:
	rm -rf build build-san build-fuzz

.PHONY: all build-all fuzz-build deps test test-unit test-integration test-vm bench fuzz format clean
.DELETE_ON_ERROR:
