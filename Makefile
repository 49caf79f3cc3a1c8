# mlp: `make` builds ./mlp; `make test` runs the cmocka suite; `make help` lists the rest.

# CFLAGS and LDFLAGS are the user's (e.g. make CFLAGS=-O3); what the build needs is added in
# XCFLAGS/XLDFLAGS so that overriding CFLAGS on the command line cannot drop it.
CC      ?= cc
CFLAGS  ?= -O2 -g
XCFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -MMD -MP -Iinclude
XLDFLAGS :=
LDLIBS  := -lm -lpthread
ifeq ($(CI),true)
XCFLAGS += -Werror
endif

# SAN=1: everything (program and tests) built with AddressSanitizer and UBSan, in build/san.
# PORTABLE=1: without the x86 SIMD kernels, only the plain C ones, in build/portable.
# The default build puts the program at ./mlp; the others keep theirs in their build directory.
BUILD   := build/release
ifeq ($(SAN),1)
# "undefined" leaves out float-cast-overflow (a NaN or out-of-range float converted to an
# integer) and float-divide-by-zero, in gcc and in clang alike.
SANFLAGS := -fsanitize=address,undefined,float-cast-overflow,float-divide-by-zero \
            -fno-sanitize-recover=all -fno-omit-frame-pointer
XCFLAGS += $(SANFLAGS)
XLDFLAGS += $(SANFLAGS)
BUILD   := build/san
endif
ifeq ($(PORTABLE),1)
XCFLAGS += -DMLP_PORTABLE
BUILD   := $(BUILD:build/release=build)/portable
endif
ifeq ($(BUILD),build/release)
MLP     := ./mlp
else
MLP     := $(BUILD)/mlp
endif

# make install: GNU conventions. PREFIX, BINDIR and MANDIR say where mlp and mlp.1 belong
# on the installed system; DESTDIR, if set, is prepended to both, for staging and packaging.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
INSTALL ?= install

DATASET ?= mnist
DATADIR := data$(if $(filter fashion,$(DATASET)),/fashion,)

SRC      := $(wildcard src/*.c)
# the page of `mlp serve`, src/page.html, becomes the C array of $(BUILD)/page.c
LIB_OBJ  := $(patsubst src/%.c,$(BUILD)/%.o,$(filter-out src/main.c,$(SRC))) $(BUILD)/page.o
TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(patsubst tests/%.c,$(BUILD)/%,$(TEST_SRC))

.PHONY: all test asan portable fuzz data train bench install uninstall clean format check-cmocka help

all: $(MLP)

$(MLP): $(BUILD)/main.o $(LIB_OBJ)
	$(CC) $(XLDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

# od and sed are POSIX: each byte of the page as 0xNN, and a NUL after the last
$(BUILD)/page.c: src/page.html | $(BUILD)
	{ echo '/* made by the Makefile from src/page.html */'; echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char mlp_page_html[]; extern const size_t mlp_page_html_len;'; \
	  echo 'const unsigned char mlp_page_html[] = {'; \
	  od -An -v -tx1 src/page.html | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0};'; echo 'const size_t mlp_page_html_len = sizeof mlp_page_html - 1;'; } > $@.tmp
	mv $@.tmp $@

$(BUILD)/page.o: $(BUILD)/page.c
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/testutil.o: tests/testutil.c | $(BUILD)
	$(CC) $(XCFLAGS) $(CFLAGS) -Itests -c -o $@ $<

$(BUILD)/test_%.o: tests/test_%.c | $(BUILD)
	$(CC) $(XCFLAGS) $(CFLAGS) -Itests -c -o $@ $<

$(BUILD)/test_%: $(BUILD)/test_%.o $(BUILD)/testutil.o $(LIB_OBJ)
	$(CC) $(XLDFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

$(BUILD):
	mkdir -p $@

# Debian's cmocka 1.1.5 needs these four headers before <cmocka.h>.
check-cmocka:
	@printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\n' \
	  | $(CC) -E -x c - >/dev/null 2>&1 || \
	  { echo "make test: cmocka not found; install it: sudo apt-get install libcmocka-dev (Debian/Ubuntu)" >&2; exit 1; }

# Every test program runs even if one fails; the target fails if any did.
test: check-cmocka $(MLP) $(TESTS)
	@fail=0; for t in $(TESTS); do MLP_BIN=$(MLP) ./$$t || fail=1; done; \
	  if [ $$fail = 0 ]; then echo "all tests passed"; else echo "some tests FAILED" >&2; exit 1; fi

asan:
	$(MAKE) SAN=1 test

portable:
	$(MAKE) PORTABLE=1 test

# libFuzzer targets: tests/fuzz_NAME.c, seeds in tests/corpus/NAME/. Each runs FUZZ_TIME
# seconds on a working copy of its corpus in build/fuzz, so the seeds in git stay as they are.
# Built with the plain C kernels: the parsers are what is fuzzed, and the instrumented SIMD
# templates take minutes to compile.
FUZZ_CC   ?= clang
FUZZ_TIME ?= 60
# serve_app.c answers with the page, which the fuzzers have no use for
FUZZ_SRC  := $(filter-out src/main.c src/cmd_%.c src/serve_app.c,$(SRC))
FUZZERS   := $(patsubst tests/fuzz_%.c,build/fuzz/fuzz_%,$(wildcard tests/fuzz_*.c))

# The CSV reader reads plain files in windows of 64 bytes here, so that inputs of a few
# hundred bytes cross windows and make them grow.
build/fuzz/fuzz_csv: FUZZ_DEFS := -DMLP_CSV_CHUNK=64

build/fuzz/fuzz_%: tests/fuzz_%.c $(FUZZ_SRC) $(wildcard include/*.h src/*.h)
	@mkdir -p build/fuzz
	$(FUZZ_CC) -std=c11 -g -O1 \
	  -fsanitize=fuzzer,address,undefined,float-cast-overflow,float-divide-by-zero \
	  -fno-sanitize-recover=all \
	  -DMLP_PORTABLE $(FUZZ_DEFS) -Iinclude -o $@ $< $(FUZZ_SRC) -lm -lpthread

fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do \
	  name=$${f#build/fuzz/fuzz_}; work=build/fuzz/corpus-$$name; mkdir -p $$work; \
	  echo "fuzz: $$name for $(FUZZ_TIME) s"; \
	  $$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 $$work tests/corpus/$$name \
	    2>build/fuzz/$$name.log || { tail -40 build/fuzz/$$name.log; exit 1; }; \
	  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" build/fuzz/$$name.log; \
	done

data:
	bash data/fetch $(DATASET)

train: $(MLP)
	@bash data/fetch --quiet $(DATASET)
	$(MLP) train $(DATADIR)

bench: $(MLP)
	@bash data/fetch --quiet mnist
	$(MLP) bench data

install: $(MLP)
	$(INSTALL) -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(MANDIR)/man1'
	$(INSTALL) -m 755 $(MLP) '$(DESTDIR)$(BINDIR)/mlp'
	$(INSTALL) -m 644 man/mlp.1 '$(DESTDIR)$(MANDIR)/man1/mlp.1'

uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/mlp' '$(DESTDIR)$(MANDIR)/man1/mlp.1'

format:
	clang-format -i src/*.c src/*.h include/*.h tests/*.c tests/*.h

clean:
	rm -rf build mlp

help:
	@echo "make            build ./mlp"
	@echo "make test       build and run the cmocka suite (SAN=1: under ASan+UBSan)"
	@echo "make asan       the suite under AddressSanitizer and UBSan"
	@echo "make portable   the suite with the plain C kernels only (PORTABLE=1)"
	@echo "make fuzz       run each libFuzzer target FUZZ_TIME seconds (default 60; needs clang)"
	@echo "make data       fetch and verify MNIST into data/ (DATASET=fashion: data/fashion/)"
	@echo "make train      fetch the data if missing, then ./mlp train data/ (DATASET=fashion: data/fashion/)"
	@echo "make bench      fetch MNIST if missing, then time the benchmark configurations A, B, C"
	@echo "make install    install mlp and its manual page (PREFIX=/usr/local, DESTDIR, BINDIR, MANDIR)"
	@echo "make uninstall  remove them"
	@echo "make format     reformat the sources with clang-format"
	@echo "make clean      remove build products"

# keep object files of test programs between runs
.SECONDARY:

-include $(wildcard $(BUILD)/*.d)
