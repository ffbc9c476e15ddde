# store/: the sandbox metadata store (docs/store-format.md).  No external
# libraries: the log, CRC-32C, filters and the index are all in store/.
store_LIBS := -lpthread

# The benchmark (not a test): sandboxd's store against SQLite and LMDB,
# measured in the same run.  Only it links the two databases.
BENCHES += $(BUILD)/bench/store
$(BUILD)/bench/store: bench/store/bench-store.c $(BUILD)/libstore.a $(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(SBX_CFLAGS) -MMD -MP $< $(BUILD)/libstore.a $(BUILD)/libcommon.a $(SBX_LDFLAGS) \
		-lpthread -lsqlite3 -llmdb -o $@
