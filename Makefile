# Makefile: builds libcoldstart, the `coldstart` program and the tests.
#   make            build (gcc by default; CC=clang works too)
#   make test       install deps if missing, build, run the whole suite
#   make asan       the suite under AddressSanitizer + UBSan (= make test SANITIZE=1)
#   make run        the main job on the built-in synthetic default
#   make fuzz       build the libFuzzer targets (clang)
#   make container-test  build the podman image and run it end to end
#                   (tests/container/; not in `make test`: ~30 s, ~10 s cached)
#   MPI=0           build without MPI even when OpenMPI is installed (the
#                   default links it when `mpicc --showme` works; docs/mpi.md)
CC ?= cc
SANITIZE ?= 0
PKGS := openblas cmocka jansson libzstd liblz4 zlib
ifeq ($(SANITIZE),1)
BUILD ?= build-asan
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build
OPT := -O3 -march=native -g
endif
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE -I/usr/include/x86_64-linux-gnu/openblas-pthread
CFLAGS += -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter -pthread $(OPT)
LDLIBS := -L/usr/lib/x86_64-linux-gnu/openblas-pthread -lopenblas -llapacke -llapack \
  -ljansson -lzstd -lsnappy -llz4 -lz -lm -lpthread
LDFLAGS += $(filter -fsanitize=%,$(OPT)) -pthread
# MPI: only src/dist/dist_mpi.c includes mpi.h, and only the programs that
# run as ranks link it (the coldstart program and the distributed test):
# libcoldstart itself never needs MPI. OpenMPI's compile and link flags come
# from its wrapper, so any CC (gcc, clang) builds with it. The program only
# starts MPI when mpirun launched it.
ifndef MPI
MPI := $(if $(shell mpicc --showme:link 2>/dev/null),1,0)
endif
ifeq ($(MPI),1)
MPI_CPPFLAGS := -DCS_HAVE_MPI $(shell mpicc --showme:compile)
MPI_LDLIBS := $(shell mpicc --showme:link)
endif

ALL_SRC := $(shell find src -name '*.c' | sort)
TEST_SRC := $(filter %_test.c,$(ALL_SRC))
CLI_SRC := $(filter src/cli/%,$(ALL_SRC))
FUZZ_SRC := $(filter src/fuzz/%,$(ALL_SRC))
MPI_SRC := src/dist/dist_mpi.c
LIB_SRC := $(filter-out $(TEST_SRC) $(CLI_SRC) $(FUZZ_SRC) $(MPI_SRC),$(ALL_SRC))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
MPI_OBJ := $(MPI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(patsubst src/%_test.c,$(BUILD)/tests/%_test,$(TEST_SRC))
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*_bench.c))
LIB := $(BUILD)/libcoldstart.a
BIN := $(BUILD)/coldstart

.PHONY: all test asan run deps clean fuzz bench container-test
# keep test objects between runs (they are intermediate in the pattern chain)
.SECONDARY:
all: $(BIN) $(TEST_BIN)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(MPI_OBJ): CPPFLAGS += $(MPI_CPPFLAGS)

$(BIN): $(CLI_OBJ) $(MPI_OBJ) $(LIB)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(MPI_OBJ) $(LIB) $(LDLIBS) $(MPI_LDLIBS)

# the distributed test runs as ranks under mpirun too (tests/cli/mpi.sh)
$(BUILD)/tests/dist/dist_test: $(BUILD)/src/dist/dist_test.o $(MPI_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $< $(MPI_OBJ) $(LIB) -lcmocka $(LDLIBS) $(MPI_LDLIBS)

$(BUILD)/tests/%_test: $(BUILD)/src/%_test.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $< $(LIB) -lcmocka $(LDLIBS)

# The benchmark programs, with the library's flags; the bench/ scripts build
# the ones they run (make build/bench/NAME). `make bench` builds them all.
$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

bench: $(BENCH_BIN)

test: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/run.sh

asan:
	@$(MAKE) --no-print-directory test SANITIZE=1

run: deps
	@$(MAKE) --no-print-directory $(BIN)
	@BUILD=$(BUILD) scripts/run.sh

fuzz:
	@$(MAKE) --no-print-directory -f fuzz.mk

container-test:
	@scripts/deps.sh container
	@tests/container/k8s.sh
	@tests/container/run.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
