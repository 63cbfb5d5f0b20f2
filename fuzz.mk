# fuzz.mk: libFuzzer targets (clang). `make fuzz` (= make -f fuzz.mk) builds
# them into build-fuzz/; run e.g.
#   build-fuzz/parquet_fuzz -max_total_time=300 build-fuzz/corpus/parquet
# (the corpus directory is seeded with every Parquet file of the project's
# fixtures, tests/fixtures/parquet, and, when `make` has built them, the
# unit tests' small hand-built files: dictionary, snappy and delta-string
# pages, and mixed-width files where narrow columns (INT32, FLOAT, BOOLEAN)
# precede wide ones (INT64, DOUBLE, INT96), PLAIN and dictionary-encoded).
CC := clang
BUILD := build-fuzz
FIXTURES := tests/fixtures/parquet
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -g -O1
CPPFLAGS := -Iinclude -Isrc -D_GNU_SOURCE -I/usr/include/x86_64-linux-gnu/openblas-pthread
CFLAGS := -std=c11 -Wall -Wextra -Wno-unused-parameter -pthread $(FUZZ_FLAGS)
LDLIBS := -L/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas -llapacke -llapack \
  -ljansson -lzstd -lsnappy -llz4 -lz -lm -lpthread

# Library modules the fuzz targets link (only these are compiled, so another
# module's work in progress cannot break the fuzz build); add a module here
# when a new target needs it.
FUZZ_MODULES ?= core parquet
LIB_SRC := $(filter-out %_test.c,$(foreach m,$(FUZZ_MODULES),$(wildcard src/$(m)/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TARGETS := $(patsubst src/fuzz/%.c,$(BUILD)/%,$(wildcard src/fuzz/*_fuzz.c))

.PHONY: all corpus
all: $(TARGETS) corpus

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcoldstart-fuzz.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%_fuzz: $(BUILD)/src/fuzz/%_fuzz.o $(BUILD)/libcoldstart-fuzz.a
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

corpus:
	@mkdir -p $(BUILD)/corpus/parquet
	@n=0; for f in $$(find $(FIXTURES) -name '*.parquet' | sort); do \
	  n=$$((n+1)); cp -f $$f $(BUILD)/corpus/parquet/seed_$$n.parquet; done
	@# small hand-built files (dictionary, snappy, delta strings) from the test
	@for t in parquet_test mixed_types_test; do \
	  if [ -x build/tests/parquet/$$t ]; then \
	    CS_PQ_SEED_DIR=$(BUILD)/corpus/parquet build/tests/parquet/$$t >/dev/null 2>&1 || true; fi; done

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
