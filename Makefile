# marconid top-level Makefile: written for both GNU make and BSD make.
# It only makes sure that config.mk exists (./configure writes it) and
# hands over to build.mk, which includes it.

BUILD=	$(MAKE) -f build.mk

all: config.mk
	@$(BUILD) all

config.mk: configure
	./configure

install: config.mk
	@$(BUILD) install

uninstall: config.mk
	@$(BUILD) uninstall

# the README's two commands: both install what they need when root
check: deps
	@$(MAKE) config.mk
	@$(BUILD) check

demo: deps
	@$(MAKE) config.mk
	@$(BUILD) demo

bench: deps
	@$(MAKE) config.mk
	@$(BUILD) bench

# a hub and 32 spokes alone (bench/scale; BENCH_SCALE=64 for 64)
bench-scale: deps
	@$(MAKE) config.mk
	@$(BUILD) bench-scale

# make check on a build with ASan and UBSan, in a copy of the tree
check-sanitize: deps
	@MAKE="$(MAKE)" sh scripts/check-sanitize

# the unit tests under valgrind
check-valgrind: deps
	@$(MAKE) config.mk
	@$(BUILD) check-valgrind

# libFuzzer on each harness for FUZZ_TIME seconds (fuzz/README.md)
fuzz: deps
	@$(MAKE) config.mk
	@$(BUILD) fuzz

fuzzers: config.mk
	@$(BUILD) fuzzers

.PHONY: fuzz fuzzers

deps:
	@sh scripts/install-deps

lint: config.mk
	@$(BUILD) lint

clean:
	@if [ -f config.mk ]; then $(BUILD) clean; fi

distclean: clean
	rm -f config.mk

.PHONY: all install uninstall check check-sanitize check-valgrind demo bench \
	bench-scale \
	deps lint clean distclean
