# supervisor/: the sandboxd daemon (docs/architecture.md, docs/api.md, docs/sandboxd.8).
# It links every library module and their external libraries, plus the HTTP server.

supervisor_SRCS := $(wildcard supervisor/*.c)
supervisor_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(supervisor_SRCS))
supervisor_LIBS := -lmicrohttpd -ljansson
# ALL_LIBA is defined after the module fragments are read, so the prerequisite list is
# computed here from LIBMODULES (the recipe uses ALL_LIBA, expanded when it runs).
supervisor_LIBA := $(foreach m,$(LIBMODULES),$(if $(wildcard $(m)/*.c),$(BUILD)/lib$(m).a))

$(BUILD)/sandboxd: $(supervisor_OBJS) $(supervisor_LIBA)
	@mkdir -p $(@D)
	$(CC) $(SBX_CFLAGS) $(supervisor_OBJS) $(ALL_LIBA) $(SBX_LDFLAGS) $(ALL_LIBS) \
		$(supervisor_LIBS) -o $@

PROGRAMS += $(BUILD)/sandboxd

# Unit tests of the supervisor's pure pieces (tests/unit/test-supervisor-*.c), linked
# against the supervisor objects they test.  The Makefile adds EXTRA_UNIT_BINS to UNIT_BINS.
supervisor_TEST_OBJS := $(BUILD)/supervisor/json.o $(BUILD)/supervisor/record-json.o \
	$(BUILD)/supervisor/events.o $(BUILD)/supervisor/adopt.o
$(BUILD)/tests/unit/test-supervisor-%: tests/unit/test-supervisor-%.c $(supervisor_TEST_OBJS) \
		$(BUILD)/libstore.a $(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(SBX_CFLAGS) -MMD -MP $< $(supervisor_TEST_OBJS) $(BUILD)/libstore.a \
		$(BUILD)/libcommon.a $(SBX_LDFLAGS) $(store_LIBS) $(supervisor_LIBS) -lcriterion -o $@
EXTRA_UNIT_BINS += $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,\
	$(wildcard tests/unit/test-supervisor-*.c))

# libFuzzer target for request bodies (make fuzz): tests/fuzz/fuzz-supervisor-*.c.
ifeq ($(FUZZ),1)
$(BUILD)/tests/fuzz/fuzz-supervisor-%: tests/fuzz/fuzz-supervisor-%.c $(supervisor_TEST_OBJS) \
		$(BUILD)/libstore.a $(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(SBX_CFLAGS) -fsanitize=fuzzer $< $(supervisor_TEST_OBJS) $(BUILD)/libstore.a \
		$(BUILD)/libcommon.a $(SBX_LDFLAGS) -fsanitize=fuzzer $(store_LIBS) -ljansson -o $@
fuzz-build: $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(wildcard tests/fuzz/fuzz-supervisor-*.c))
endif

# make run: what a person types first.  Installs what is missing, builds, and runs the
# daemon in the foreground with the default paths (stop it with Ctrl-C; sandboxes keep
# running).
run: deps
	@$(MAKE) --no-print-directory build-all
	$(BUILD)/sandboxd $(SANDBOXD_ARGS)

# make install: binaries, man pages and the systemd unit (Delegate=yes, KillMode=process,
# so sandboxes outlive a restart of the daemon).  DESTDIR is honoured.
SYSTEMD_UNIT_DIR ?= /etc/systemd/system
install: build-all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	install -m 0755 $(BUILD)/sandboxd $(DESTDIR)$(PREFIX)/bin/sandboxd
	if [ -x $(BUILD)/sandboxctl ]; then \
		install -m 0755 $(BUILD)/sandboxctl $(DESTDIR)$(PREFIX)/bin/sandboxctl; fi
	install -m 0644 docs/sandboxd.8 $(DESTDIR)$(PREFIX)/share/man/man8/sandboxd.8
	if [ -f docs/sandboxctl.1 ]; then \
		install -m 0644 docs/sandboxctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/sandboxctl.1; fi
	sed 's|@BINDIR@|$(PREFIX)/bin|g' supervisor/sandboxd.service \
		> $(DESTDIR)$(SYSTEMD_UNIT_DIR)/sandboxd.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/sandboxd.service
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null 2>&1; then \
		systemctl daemon-reload || true; fi

.PHONY: run install
