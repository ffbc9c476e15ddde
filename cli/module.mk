# cli/: sandboxctl, the command-line client.  It talks to sandboxd only through
# the HTTP/JSON API (docs/api.md) with its own small HTTP/1.1 client (cli/http.c),
# so it links nothing of the daemon's modules: libcommon.a and jansson only.
cli_LIBS := -ljansson
cli_SRCS := $(wildcard cli/*.c)
cli_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(cli_SRCS))

$(BUILD)/sandboxctl: $(cli_OBJS) $(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(cli_OBJS) $(BUILD)/libcommon.a $(SBX_LDFLAGS) $(cli_LIBS) -o $@
PROGRAMS += $(BUILD)/sandboxctl

# A slow-loris client for tests/integration (built with everything, so the suite finds it).
$(BUILD)/tests/integration/slowclient: tests/integration/slowclient.c
	@mkdir -p $(@D)
	$(CC) $(SBX_CFLAGS) $< $(SBX_LDFLAGS) -o $@
PROGRAMS += $(BUILD)/tests/integration/slowclient

# bench/start: the lifecycle through the API against the clone3 floor, crun, runc, bwrap and
# unshare, concurrency, exit → Wait latency, Status throughput, memory (docs/benchmarks.md).
# It drives the daemon with sandboxctl's HTTP client (cli/http.c).
# It also builds the same sandbox with isolation/ in its own process, for the lower bound.
$(BUILD)/bench/bin/start: bench/start/bench-start.c $(BUILD)/cli/http.o $(BUILD)/libisolation.a \
		$(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(SBX_CFLAGS) -MMD -MP $< $(BUILD)/cli/http.o $(BUILD)/libisolation.a \
		$(BUILD)/libcommon.a $(SBX_LDFLAGS) $(isolation_LIBS) -ljansson -lpthread -o $@
BENCHES += $(BUILD)/bench/bin/start

# Unit tests of the HTTP client (tests/unit/test-cli-*.c); the Makefile adds EXTRA_UNIT_BINS
# to UNIT_BINS.
$(BUILD)/tests/unit/test-cli-%: tests/unit/test-cli-%.c $(BUILD)/cli/http.o $(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(SBX_CFLAGS) -MMD -MP $< $(BUILD)/cli/http.o $(BUILD)/libcommon.a $(SBX_LDFLAGS) \
		-lpthread -lcriterion -o $@
EXTRA_UNIT_BINS += $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,\
	$(wildcard tests/unit/test-cli-*.c))
