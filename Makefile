# casbench - see README.md.  `make bench` and `make test` do their own set-up.
#
# Variables a user may set: CC, CXX, CFLAGS, CXXFLAGS, LDFLAGS, PREFIX, DESTDIR,
# BUILD (output directory), BLAKE3_DIR (BLAKE3's C sources), T (test filter),
# FUZZ_SECONDS (make fuzz), RUN (make report / make readme / make calibrate),
# BENCH_ARGS, CALIBRATE_ARGS, METAFLOW, METAFLOW_PR, REPRODUCE_ARGS (make reproduce),
# AA_ARGS (make aa).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
BUILD      ?= build
CC         ?= cc
CXX        ?= c++
CFLAGS     ?= -O2 -g
CXXFLAGS   ?= -O2 -g
PKG_CONFIG ?= pkg-config
# The official BLAKE3 C sources as Debian ships them (librust-blake3-dev).
BLAKE3_DIR ?= $(lastword $(sort $(wildcard /usr/share/cargo/registry/blake3-*/c)))
PKGS        = zlib liblz4 libzstd libdeflate libisal libxxhash libcrypto benchmark

WARN       := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
# The test build: sanitizers that stop at the first report, and warnings as errors.
SANITIZE   ?=
ifeq ($(SANITIZE),1)
SANFLAGS   := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -Werror
endif
# The threaded tests' build (build/tsan, `make tsan-tests`).
ifeq ($(SANITIZE),thread)
SANFLAGS   := -O1 -fsanitize=thread -fno-omit-frame-pointer -Werror
endif

GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
PKG_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS    = $(shell $(PKG_CONFIG) --libs $(PKGS))
CPPFLAGS_CB = -D_GNU_SOURCE -I$(BLAKE3_DIR) -DCASBENCH_GIT_COMMIT='"$(GIT_COMMIT)"'

# The layers (ARCHITECTURE.md). A folder sees its own headers and those of the
# folders listed for it, never one above it: an include that points upward
# does not compile. The include path of a source is that of its folder.
LAYERS        := common codecs payloads rundata bench report calibrate cli
SEES_common   := common
SEES_codecs   := common codecs
SEES_payloads := common payloads
SEES_rundata  := common codecs payloads rundata
SEES_bench    := common codecs payloads rundata bench
SEES_report   := common codecs payloads rundata bench report
SEES_calibrate:= common codecs payloads rundata bench calibrate
SEES_cli      := $(LAYERS)
# Test and fuzz programs see every layer.
SEES_tests    := $(LAYERS)
layer_of       = $(firstword $(subst /, ,$(patsubst $(BUILD)/%,%,$(patsubst $(FUZZ_BUILD)/%,%,$(1)))))
LAYER_INC      = $(addprefix -I,$(SEES_$(call layer_of,$@)))
ALL_CFLAGS  = -std=c11 $(WARN) $(CPPFLAGS_CB) $(LAYER_INC) $(PKG_CFLAGS) $(CFLAGS) $(SANFLAGS) -MMD -MP
ALL_CXXFLAGS= -std=c++17 -Wall -Wextra $(CPPFLAGS_CB) $(LAYER_INC) $(PKG_CFLAGS) $(CXXFLAGS) $(SANFLAGS) -MMD -MP

SRC_C      := $(sort $(foreach d,$(LAYERS),$(wildcard $(d)/*.c)))
SRC_CXX    := $(sort $(foreach d,$(LAYERS),$(wildcard $(d)/*.cc)))
# BLAKE3: portable C always; the x86-64 assembly on x86-64, where its
# run-time dispatch picks SSE2 / SSE4.1 / AVX2 / AVX-512 from CPUID.
BLAKE3_C   := blake3.c blake3_dispatch.c blake3_portable.c
ifeq ($(shell uname -m),x86_64)
# payloads/numpy_random.c computes numpy's ziggurat tables in quad precision:
# __float128 from libquadmath here, a binary128 long double elsewhere.
QUADMATH   := -lquadmath
BLAKE3_S   := blake3_sse2_x86-64_unix.S blake3_sse41_x86-64_unix.S \
              blake3_avx2_x86-64_unix.S blake3_avx512_x86-64_unix.S
BLAKE3_DEFS:=
else
BLAKE3_S   :=
BLAKE3_DEFS:= -DBLAKE3_NO_SSE2 -DBLAKE3_NO_SSE41 -DBLAKE3_NO_AVX2 -DBLAKE3_NO_AVX512
endif
# Exports the dispatcher's feature cache (g_cpu_features, get_cpu_features):
# casbench names the SIMD path in use, tests/c/ forces each one.
BLAKE3_DEFS+= -DBLAKE3_TESTING
OBJ        := $(SRC_C:%.c=$(BUILD)/%.o) $(SRC_CXX:%.cc=$(BUILD)/%.o) \
              $(BLAKE3_C:%.c=$(BUILD)/blake3/%.o) $(BLAKE3_S:%.S=$(BUILD)/blake3/%.o)

.PHONY: all deps bench test check-build install uninstall clean fuzz report readme calibrate reproduce aa memory-sweep
all: $(BUILD)/casbench

# Install missing packages only when the check finds something missing.
deps:
	@infra/provision.sh --check 2>/dev/null || infra/provision.sh

$(BUILD)/casbench: $(OBJ)
	$(CXX) $(CXXFLAGS) $(SANFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(PKG_LIBS) $(QUADMATH) -lpthread -lm

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c -o $@ $<

# Third-party sources are compiled as their authors wrote them: no extra warnings.
$(BUILD)/blake3/%.o: $(BLAKE3_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(SANFLAGS:-Werror=) $(BLAKE3_DEFS) -w -c -o $@ $<

$(BUILD)/blake3/%.o: $(BLAKE3_DIR)/%.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# codecs/codec_impl.h and codecs/hash_impl.h declare the functions of every
# codecs/codec_*.c and codecs/hash_*.c from a list generated from the files
# themselves (MODULES_SED below), so that adding a codec or a hash is one file
# and one table row. build/gen/STEM_modules.h lists codecs/STEM_*.c;
# rewritten only when the list changes (a temporary file per make process:
# tests/run.sh runs two scripts at a time, and two of them call make).
CODEC_MODULES_H := build/gen/codec_modules.h
HASH_MODULES_H  := build/gen/hash_modules.h
build/gen/%_modules.h: FORCE
	@mkdir -p $(dir $@)
	@sed -n $(MODULES_SED) $(sort $(wildcard codecs/$*_*.c)) >$@.tmp$$$$ && \
	{ cmp -s $@.tmp$$$$ $@ && rm -f $@.tmp$$$$ || mv $@.tmp$$$$ $@; }
# Codecs: CODEC_DECLARE_BASE(NAME), plus CODEC_DECLARE_CONTENT_SIZE(NAME) /
# CODEC_DECLARE_STREAM(NAME) when the file defines content_size / stream_begin.
$(CODEC_MODULES_H): MODULES_SED := 's/^size_t codec_\([a-z0-9_]*\)_compress(.*/CODEC_DECLARE_BASE(\1)/p; s/^size_t codec_\([a-z0-9_]*\)_content_size(.*/CODEC_DECLARE_CONTENT_SIZE(\1)/p; s/^size_t codec_\([a-z0-9_]*\)_stream_begin(.*/CODEC_DECLARE_STREAM(\1)/p'
# Hashes: HASH_DECLARE_<member>(NAME) for each hash_NAME_<member> a line starts
# by defining, HASH_DECLARE_ROW(NAME) for each line that starts with a
# *_ROW(NAME, ...) macro (hash_openssl.c's OSSL_ROW).
$(HASH_MODULES_H): MODULES_SED := 's/^\(const char \*\|void \*\|void \)hash_\([a-z0-9_]*\)_\(version\|implementation\|create\|destroy\|reset\|update\|final\)(.*/HASH_DECLARE_\3(\2)/p; s/^[A-Z0-9_]*_ROW(\([a-z0-9_]*\),.*/HASH_DECLARE_ROW(\1)/p'
$(BUILD)/codecs/%.o: CPPFLAGS_CB += -I$(dir $(CODEC_MODULES_H))
$(filter $(BUILD)/codecs/%,$(OBJ)): $(CODEC_MODULES_H) $(HASH_MODULES_H)

# env.tsv records the flags the build used (bench/envinfo.c).
$(BUILD)/bench/envinfo.o: CPPFLAGS_CB += -DCASBENCH_CFLAGS='"$(strip $(CFLAGS) $(SANFLAGS))"'

# Test programs: every tests/c/test_NAME.c -> $(BUILD)/tests/test_NAME, built
# with the same flags (sanitizers in build/asan) and linked with the objects of
# the modules it tests: TEST_OBJ_test_NAME, else the codecs and util.
C_TESTS    := $(sort $(patsubst tests/c/%.c,%,$(wildcard tests/c/test_*.c)))
TEST_OBJ    = $(filter $(BUILD)/codecs/% $(BUILD)/blake3/% $(BUILD)/common/util.o \
                       $(BUILD)/payloads/numpy_random.o,$(OBJ))
TEST_OBJ_test_payloads = $(filter $(BUILD)/payloads/% $(BUILD)/common/util.o,$(OBJ))
TEST_OBJ_test_handoff  = $(BUILD)/bench/handoff.o $(BUILD)/common/util.o
TEST_OBJ_test_schema   = $(BUILD)/rundata/schema.o
TEST_OBJ_test_proc     = $(BUILD)/common/proc.o $(BUILD)/common/util.o
TEST_OBJ_test_roundstats = $(addprefix $(BUILD)/,rundata/roundstats.o rundata/sampstat.o common/util.o)
# Every bench/ object a cell needs (cells.o defines the save variants).
CELL_OBJ = $(addprefix $(BUILD)/,bench/cells.o bench/cells_cpython.o bench/cells_verify.o bench/handoff.o \
             bench/streaming.o bench/memory.o rundata/schema.o)
# The planner and the rows it reads.
TEST_OBJ_test_plan     = $(TEST_OBJ) $(BUILD)/bench/plan.o $(CELL_OBJ) $(addprefix $(BUILD)/,payloads/pickle.o payloads/pyobj.o)
# The streaming variant and the memory count.
TEST_OBJ_test_memory   = $(TEST_OBJ) $(CELL_OBJ) $(filter $(BUILD)/payloads/%,$(OBJ))
# The cpython cells' settle.
TEST_OBJ_test_settle   = $(TEST_OBJ_test_memory)
define TEST_LINK
$(BUILD)/tests/$(1): $(BUILD)/tests/c/$(1).o $$(or $$(TEST_OBJ_$(1)),$$(TEST_OBJ))
	$$(CXX) $$(CXXFLAGS) $$(SANFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS) $$(QUADMATH) -lpthread -lm
endef
$(foreach t,$(C_TESTS),$(eval $(call TEST_LINK,$(t))))

# The tests with threads, under ThreadSanitizer (tests/test_fastsave.sh):
# build/tsan/tests/test_NAME.
TSAN_TESTS := test_handoff
.PHONY: tsan-tests
tsan-tests:
	$(MAKE) --no-print-directory BUILD=build/tsan SANITIZE=thread $(TSAN_TESTS:%=build/tsan/tests/%)

# util.o carries the git commit: rebuild it when HEAD moves.
$(BUILD)/common/util.o: $(BUILD)/commit.stamp
$(BUILD)/commit.stamp: FORCE
	@mkdir -p $(BUILD)
	@echo '$(GIT_COMMIT)' | cmp -s - $@ || echo '$(GIT_COMMIT)' > $@
FORCE:

# The test build lives beside the release build; both are made fresh by `make test`.
check-build:
	$(MAKE) --no-print-directory BUILD=build SANITIZE= build/casbench $(C_TESTS:%=build/tests/%)
	$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 build/asan/casbench $(C_TESTS:%=build/asan/tests/%)

# The main job. A sub-make so that variables found by the set-up are read afresh.
# The run directory is the last line casbench run prints; the report follows it.
BENCH_ARGS ?= --hash-sweep
bench: deps
	$(MAKE) --no-print-directory BUILD=build SANITIZE= build/casbench
	@run=$$(build/casbench run $(BENCH_ARGS) | tail -n 1) && [ -n "$$run" ] && \
	echo "casbench: results in $$run" && \
	build/casbench report "$$run" && echo "casbench: report in $$run/REPORT.md"

# `make reproduce [METAFLOW=DIR] [METAFLOW_PR=DIR]`: PR #3090's three suites by
# its own method, in C (casbench run --suite pr3090) and in Python
# (infra/python_path.py --suite pr3090: metaflow's own store code from
# METAFLOW for gzip and METAFLOW_PR for lz4, else metaflow_equiv.py), then the
# report of the C run with the Python run beside it (REPORT.md, pr3090.tsv).
# Then the PR's five payloads through the matrix with CPython timed in the same
# rounds (run --python), whose report writes predict.tsv: the suites time whole
# round trips, which have no per-stage cells to predict from.
# REPRODUCE_ARGS goes to both suite runs (e.g. --quick); its --quick to the matrix.
METAFLOW       ?=
METAFLOW_PR    ?=
REPRODUCE_ARGS ?=
PR3090_PAYLOADS = pr3090-config,pr3090-metrics,pr3090-embeddings,pr3090-weights,pr3090-random
reproduce: deps
	$(MAKE) --no-print-directory BUILD=build SANITIZE= build/casbench
	@run=$$(build/casbench run --suite pr3090 $(REPRODUCE_ARGS) | tail -n 1) && [ -n "$$run" ] && \
	py=$$(/usr/bin/python3 infra/python_path.py --suite pr3090 $(REPRODUCE_ARGS) \
	  $(if $(METAFLOW),--metaflow '$(METAFLOW)') $(if $(METAFLOW_PR),--metaflow-pr '$(METAFLOW_PR)') \
	  | tail -n 1) && [ -n "$$py" ] && \
	build/casbench report "$$run" --python "$$py" && \
	echo "casbench: C run $$run, Python run $$py; report in $$run/REPORT.md and $$run/pr3090.tsv" && \
	m=$$(build/casbench run --python --payload $(PR3090_PAYLOADS) $(filter --quick,$(REPRODUCE_ARGS)) | tail -n 1) && \
	[ -n "$$m" ] && build/casbench report "$$m" && \
	echo "casbench: the PR's payloads with CPython in the same rounds: $$m/REPORT.md and $$m/predict.tsv"

# `make memory-sweep [SWEEP_ARGS=...]`: issue 16's size sweep of the weights
# payload, 1 MB to 512 MB (rows=125 to 64000, doubling), lz4:0, sequential and
# streaming, reuse, and its report: the Memory section's plot of peak memory
# against size and the streaming bar (a few minutes; some 3 GiB of memory at
# 512 MB). Three rounds are enough for the plot; the bar's times on a busy
# machine want more (SWEEP_ARGS='--rounds 10 --min-time 0.001').
SWEEP_ROWS ?= 125 250 500 1000 2000 4000 8000 16000 32000 64000
SWEEP_ARGS ?= --rounds 3 --min-time 0.001
memory-sweep: deps
	$(MAKE) --no-print-directory BUILD=build SANITIZE= build/casbench
	@run=$$(build/casbench run $(SWEEP_ROWS:%=--payload weights:rows=%) --codec lz4:0 --hash sha1 \
	  --variant sequential,streaming --alloc reuse $(SWEEP_ARGS) | tail -n 1) && [ -n "$$run" ] && \
	build/casbench report "$$run" && echo "casbench: report in $$run/REPORT.md (section Memory)"

# `make aa [AA_ARGS=...]`: the A/A benchmark (infra/aa.sh): the same matrix
# twice, compared and reported; AA.md states which targets were met.
AA_ARGS ?=
aa: deps
	$(MAKE) --no-print-directory BUILD=build SANITIZE= build/casbench
	@out=$$(infra/aa.sh $(AA_ARGS) | tail -n 1) && cat "$$out/AA.md" && echo "casbench: A/A in $$out/AA.md"

# The builds use every CPU unless make was given its own -j.
test: deps
	$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 1)) check-build
	tests/run.sh $(T)

# `make report`: REPORT.md + plots of RUN (default: the newest run under
# results/); `make readme RUN=DIR`: that, and its headline tables in README.md.
NEWEST_RUN = $$(ls -t results/*/matrix.tsv 2>/dev/null | head -n 1 | xargs -r dirname)
report readme: $(BUILD)/casbench
	@run='$(RUN)'; [ -n "$$run" ] || run=$(NEWEST_RUN); \
	[ -n "$$run" ] || { echo "casbench: results/: no run directory with a matrix.tsv (run make bench)" >&2; exit 2; }; \
	echo "$(BUILD)/casbench report $$run$(if $(filter readme,$@), --readme README.md)"; \
	$(BUILD)/casbench report "$$run"$(if $(filter readme,$@), --readme README.md)

# `make calibrate`: casbench calibrate (the release build) beside the newest
# run (RUN, or results/*/matrix.tsv's newest directory) so that the check
# sits with the numbers it vouches for; a new results/<host>-<UTC time>/ when
# there is no run. CALIBRATE_ARGS adds flags (e.g. --quick).
calibrate: $(BUILD)/casbench
	@run='$(RUN)'; [ -n "$$run" ] || run=$(NEWEST_RUN); \
	[ -n "$$run" ] || run=results/$$(hostname | tr / _)-$$(date -u +%Y%m%dT%H%M%SZ); \
	echo "$(BUILD)/casbench calibrate --out $$run $(CALIBRATE_ARGS)"; \
	$(BUILD)/casbench calibrate --out "$$run" $(CALIBRATE_ARGS)

install: $(BUILD)/casbench
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BUILD)/casbench $(DESTDIR)$(BINDIR)/casbench
	install -d $(DESTDIR)$(PREFIX)/share/casbench/plots
	install -m 0644 plots/*.gp $(DESTDIR)$(PREFIX)/share/casbench/plots/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/casbench
	rm -rf $(DESTDIR)$(PREFIX)/share/casbench

clean:
	rm -rf build

# Flags live here: a change to them rebuilds everything.
$(OBJ): Makefile

-include $(OBJ:.o=.d) $(C_TESTS:%=$(BUILD)/tests/c/%.d)

# Fuzzing with clang's libFuzzer: tests/fuzz/fuzz_NAME.c, each linked with
# only the modules it drives (built apart, in build/fuzz, with the fuzzer's
# coverage and ASan + UBSan). `make fuzz FUZZ_SECONDS=N` runs each target
# for N seconds on a temporary corpus seeded from tests/fuzz/corpus/NAME
# (the committed corpus is never written); tests/test_fuzz.sh does the same
# in `make test`. Crashing inputs are kept in build/fuzz/crashes/.
FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_TARGETS := decompress json npy payload_spec tsv resume
FUZZ_LIBS     = $(shell $(PKG_CONFIG) --libs zlib liblz4 libzstd libdeflate libisal)
FUZZ_SECONDS ?= 30
fuzz_mods_decompress   := $(basename $(sort $(wildcard codecs/codec.c codecs/codec_*.c))) common/util
fuzz_mods_json         := payloads/json payloads/pyobj payloads/pickle common/util
fuzz_mods_npy          := payloads/npy payloads/pyobj payloads/pickle common/util
fuzz_mods_payload_spec := payloads/payload payloads/json payloads/npy payloads/pyobj payloads/pickle \
                          payloads/pr3090 payloads/numpy_random common/util
fuzz_mods_tsv          := rundata/tsv rundata/rundir rundata/schema common/util
fuzz_mods_resume       := bench/results rundata/tsv rundata/rundir rundata/schema common/util common/strbuf common/atomic
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/codecs/%.o: CPPFLAGS_CB += -I$(dir $(CODEC_MODULES_H))
$(patsubst %,$(FUZZ_BUILD)/%.o,$(filter codecs/%,$(fuzz_mods_decompress))): $(CODEC_MODULES_H)
$(FUZZ_BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 $(WARN) $(CPPFLAGS_CB) $(LAYER_INC) $(PKG_CFLAGS) $(FUZZ_FLAGS) -MMD -MP -c -o $@ $<

define FUZZ_LINK
$(FUZZ_BUILD)/fuzz_$(1): $(FUZZ_BUILD)/tests/fuzz/fuzz_$(1).o $(patsubst %,$(FUZZ_BUILD)/%.o,$(fuzz_mods_$(1)))
	$$(FUZZ_CC) $$(subst fuzzer-no-link,fuzzer,$$(FUZZ_FLAGS)) -o $$@ $$^ $$(FUZZ_LIBS) $$(QUADMATH) -lpthread -lm
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_LINK,$(t))))

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

-include $(wildcard $(FUZZ_BUILD)/*/*.d $(FUZZ_BUILD)/*/*/*.d)
