# swatchd — make run, make test, and the rest (README.md "Make targets").
#
#   make deps      install the Debian packages the build and the tests need
#   make build     debug build (swift build)
#   make release   release build
#   make run       build, then run swatchd on conf/examples/hello (port 8080)
#   make test      deps + lint + swift build + swift test  (what .ci/run runs)
#   make lint      mandoc -Tlint over man/
#   make install   PREFIX=/usr/local DESTDIR=  binaries (stripped), man pages, examples, completions,
#                  swatchd.service, /etc/swatchd
#   make fuzz      libFuzzer over every parser (FUZZ_TARGETS), FUZZ_SECONDS each (default 60)
#   make sanitize  the integration tests against binaries built with the AddressSanitizer
#   make deps-bench  install the peers scripts/bench compares against (xinetd, tcpserver,
#                  runit, wrk when Debian has it; systemd-socket-activate comes with systemd)
#   make bench     scripts/bench: the comparison table (BENCH_FLAGS=--quick: about 2 minutes)
#   make clean

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=
# Where systemd looks for units a package (PREFIX=/usr: /usr/lib/systemd/system) or the
# administrator (/usr/local/lib/systemd/system) installs: systemd.unit(5), "UNIT FILE LOAD
# PATH"; what `pkg-config --variable=systemdsystemunitdir systemd` says for /usr.
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
# swatchd's own unit directory as root (swatchd(8), FILES): not below PREFIX.
UNIT_DIR ?= /etc/swatchd
BIN_DIR ?=
# install -s: the symbol tables are most of an unstripped binary (README.md "Benchmarks", H).
STRIP ?= strip
FUZZ_SECONDS ?= 60
# --static-swift-stdlib: less resident and a faster start than the shared Swift
# libraries (docs/HACKING.md "Footprint and start-up"); libsystemd stays a shared
# library either way. --disable-local-rpath: no RUNPATH $ORIGIN, which a static
# stdlib does not need and which made the loader probe 15 paths beside the binary
# for its shared libraries at every start. -Osize: 3 % smaller stripped, 0.2 MiB
# less resident, start-up with 1000 units no slower (docs/HACKING.md "Footprint
# and start-up", "Build levers"). SwiftPM links release with --gc-sections already. The
# linker flags (lld from the Swift toolchain): packed relative relocations (DT_RELR,
# glibc >= 2.36), identical code folded, no dynamic symbol table of our own symbols:
# 12.0 → 9.2 MB stripped with the rest (docs/HACKING.md "Linker levers").
# -L STATIC_CXX: the runtime's C++ (libstdc++) linked from its archive, so no
# libstdc++.so is loaded: 0.6 MiB less resident and 60 % fewer of the loader's
# relocations (docs/HACKING.md "Linker levers"). -static-stdlib asks for -lstdc++
# and the linker takes the first libstdc++ on its search path, so a directory
# holding only the archive goes first.
# -disable-concrete-type-metadata-mangled-name-accessors: the metadata of a concrete
# generic type (Dictionary<String, KeySetter<ServiceUnit>>) comes from its accessor, not
# from demangling its name in the runtime at first use — a quarter of the instructions
# of a start with one unit, for 45 KB (docs/HACKING.md "Start-up with 1000 units").
# -function-sections and link/swatchd.order: every function in a section of its own, so
# --gc-sections drops the unused ones (0.3 MB) and lld lays out the ones swatchd runs
# together, in the order scripts/link-order found; the kernel maps text 64 KiB around
# each page faulted in, and scattered they kept 2 MB more of it resident
# (docs/HACKING.md "Link order").
# link/unnamed-functions.ld: the functions swiftc emits without a symbol, which no order
# can name, laid out together before .text (the file says why). link/swift-stdlib.ld: the
# stdlib's one 1.6 MB section first, so that our code's growth does not move its windows.
# -z max-page-size=65536: segments aligned to 64 KiB, so the kernel loads the binary at a
# 64 KiB boundary and its fault-around windows fall on the same text at every start,
# instead of wherever ASLR put the page (0.2 MiB of spread in VmRSS); the base keeps 4
# bits less randomness, as every arm64 binary has with its default 64 KiB.
# -static-libgcc: the unwinder the runtime's libstdc++ names (_Unwind_*, which nothing
# calls: link/no-unwind-tables.ld) from libgcc_eh.a, so libgcc_s.so.1 is not loaded:
# 0.1–0.3 MiB less resident for 20 KB on disk.
# -enforce-exclusivity=unchecked: no run-time exclusivity checks in the release build
# (3 % of the instructions of a start with 1000 units, and 41 KB); the tests run the
# debug build, which keeps them (docs/HACKING.md "Start-up with 1000 units").
# link/no-unwind-tables.ld and --no-eh-frame-hdr: no DWARF unwind tables, which nothing in
# the binaries reads (the file says why): 9.2 → 8.0 MB stripped.
# SWATCH_WITHOUT_CONCURRENCY_RUNTIME: Sources/CSwatch/no_concurrency.c keeps Swift's
# concurrency runtime and libdispatch out of swatchd, which runs no async code (the file
# says why, check-release that it holds): 0.57 MB stripped.
STATIC_CXX := $(CURDIR)/.build/static-libstdc++
RELEASE_FLAGS ?= -c release --static-swift-stdlib --disable-local-rpath -Xswiftc -Osize -Xswiftc -enforce-exclusivity=unchecked \
	-Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors \
	-Xswiftc -Xfrontend -Xswiftc -function-sections \
	-Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --icf=all -Xlinker --no-export-dynamic \
	-Xlinker --symbol-ordering-file=$(CURDIR)/link/swatchd.order -Xlinker --no-warn-symbol-ordering \
	-Xlinker -T -Xlinker $(CURDIR)/link/no-unwind-tables.ld -Xlinker --no-eh-frame-hdr \
	-Xlinker -T -Xlinker $(CURDIR)/link/unnamed-functions.ld -Xlinker -T -Xlinker $(CURDIR)/link/swift-stdlib.ld \
	-Xswiftc -Xclang-linker -Xswiftc -static-libgcc -Xlinker -z -Xlinker max-page-size=65536 \
	-Xswiftc -L$(STATIC_CXX) -Xcc -DSWATCH_WITHOUT_CONCURRENCY_RUNTIME

# Debian packages: the build (libsystemd-dev, libseccomp-dev, pkg-config), the tests
# (python3-systemd test services, curl, ss from iproute2, systemd-journald and
# journalctl from systemd, unshare from util-linux, zsh and fish to read swatchctl's
# completion scripts, keyctl from keyutils to look at a service's keyring, bpftool to pin the
# BPF program IPIngressFilterPath= names) and the lint (mandoc).
DEB_PACKAGES := libsystemd-dev libseccomp-dev pkg-config python3-systemd mandoc curl iproute2 systemd util-linux \
	zsh fish keyutils bpftool

MAN_PAGES = $(wildcard man/*.[158])

.PHONY: all deps deps-bench build release check-release run test lint install fuzz sanitize bench clean

all: build

deps:
	@if ! command -v dpkg-query >/dev/null; then \
	    echo "make deps: no dpkg-query (not Debian?); install by hand: $(DEB_PACKAGES)"; \
	    exit 0; \
	fi; \
	missing=""; \
	for package in $(DEB_PACKAGES); do \
	    status=$$(dpkg-query -W -f='$${db:Status-Status}' "$$package" 2>/dev/null || true); \
	    [ "$$status" = installed ] || missing="$$missing $$package"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then \
	    echo "make deps: installing$$missing"; \
	    apt-get update; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$$missing; \
	else \
	    echo "make deps: missing Debian packages:$$missing"; \
	    echo "Run: sudo apt-get update && sudo apt-get install -y --no-install-recommends$$missing"; \
	    exit 1; \
	fi

# The peers of scripts/bench, from Debian: xinetd, tcpserver (ucspi-tcp), runsv/sv
# (runit), systemd-socket-activate (systemd), a C compiler for the handler, and wrk
# when the archive has it (the bench falls back to its own client without it).
# `apt-get update` runs once, only when something is missing.
BENCH_PACKAGES := xinetd ucspi-tcp runit systemd iproute2 gcc libc6-dev
BENCH_OPTIONAL := wrk

deps-bench:
	@if ! command -v dpkg-query >/dev/null; then \
	    echo "make deps-bench: no dpkg-query (not Debian?); install by hand: $(BENCH_PACKAGES) $(BENCH_OPTIONAL)"; \
	    exit 0; \
	fi; \
	missing=""; \
	for package in $(BENCH_PACKAGES) $(BENCH_OPTIONAL); do \
	    status=$$(dpkg-query -W -f='$${db:Status-Status}' "$$package" 2>/dev/null || true); \
	    [ "$$status" = installed ] || missing="$$missing $$package"; \
	done; \
	if [ -z "$$missing" ]; then echo "make deps-bench: all installed"; exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
	    echo "make deps-bench: missing Debian packages:$$missing"; \
	    echo "Run: sudo apt-get update && sudo apt-get install -y --no-install-recommends$$missing"; \
	    exit 1; \
	fi; \
	apt-get update; \
	available=""; \
	for package in $$missing; do \
	    candidate=$$(apt-cache policy "$$package" | sed -n 's/^ *Candidate: *//p'); \
	    if [ -n "$$candidate" ] && [ "$$candidate" != "(none)" ]; then available="$$available $$package"; \
	    else echo "make deps-bench: $$package is not in the archive; skipping it"; fi; \
	done; \
	[ -z "$$available" ] || { echo "make deps-bench: installing$$available"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$$available; }

build:
	$(SWIFT) build

PROGRAMS := swatchd swatchctl swatchd-hello

release: $(STATIC_CXX)/libstdc++.a
	@# SwiftPM does not see the files in link/ as inputs of the link: a newer one relinks.
	@bin="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"; \
	for program in $(PROGRAMS); do \
	    for input in link/*; do [ ! "$$input" -nt "$$bin/$$program" ] || rm -f "$$bin/$$program"; done; \
	done
	$(SWIFT) build $(RELEASE_FLAGS)
	@$(MAKE) -s check-release

# link/no-unwind-tables.ld holds only while nothing catches a C++ exception: a handler
# would need the tables it drops. And each program is run once (`--help`): the linker
# scripts, the alignment and the static libgcc are the release build's alone, and the
# tests run the debug one. swatchd and swatchctl read their command line themselves, and
# Sources/CSwatch/arguments.c keeps the Swift runtime's reader of /proc/self/maps out of
# them: a toolchain that renames what it stands in for would bring that back. No program
# links the concurrency runtime (Sources/CSwatch/no_concurrency.c): a new reference from
# swift-log, or a closure in main-actor code, would bring it and libdispatch back, and none
# of our objects may call the traps that file defines. A link/swatchd.order naming functions
# swatchd no longer has is stale: lld skips those names silently (--no-warn-symbol-ordering),
# and what start-up runs spreads over more text again; a warning says to regenerate it.
check-release:
	@bin="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"; \
	for program in $(PROGRAMS); do \
	    ! nm "$$bin/$$program" | grep -q ' __cxa_begin_catch' \
	        || { echo "make: $$program catches C++ exceptions; link/no-unwind-tables.ld would break that"; exit 1; }; \
	    "$$bin/$$program" --help >/dev/null || { echo "make: the release $$program does not run"; exit 1; }; \
	    ! nm "$$bin/$$program" | grep -q ' _dispatch_' \
	        || { echo "make: $$program links Swift's concurrency runtime and libdispatch (see Sources/CSwatch/no_concurrency.c)"; exit 1; }; \
	done; \
	stale="$$(nm "$$bin/swatchd" | awk 'NR == FNR { have[$$NF] = 1; next } !($$0 in have) { n++ } END { print n + 0 }' - link/swatchd.order)"; \
	[ "$$stale" -eq 0 ] || echo "make: warning: $$stale of the functions link/swatchd.order lays out are no longer in swatchd;" \
	    "regenerate it: scripts/link-order $$bin/swatchd > link/swatchd.order && make release"; \
	for program in swatchd swatchctl; do \
	    ! nm "$$bin/$$program" | grep -q argvGrabber \
	        || { echo "make: $$program links the Swift runtime's argv grabber (see Sources/CSwatch/arguments.c)"; exit 1; }; \
	done; \
	stubs="$$(sed -n 's/^UNLINKED([a-z_]*, *"\(.*\)");$$/\1/p; s/^ *"\(.*\)");$$/\1/p' Sources/CSwatch/no_concurrency.c)"; \
	for object in "$$bin"/SwatchCore.build/*.o "$$bin"/SwatchControl.build/*.o "$$bin"/swatchd.build/*.o "$$bin"/swatchctl.build/*.o; do \
	    used="$$(nm -u "$$object" | awk '{ print $$2 }' | grep -xF "$$stubs")" \
	        && { echo "make: $$object calls $$used, which Sources/CSwatch/no_concurrency.c makes a trap"; exit 1; }; \
	done; true

# The archive the Swift toolchain's clang links with (Debian: libstdc++-12-dev).
$(STATIC_CXX)/libstdc++.a:
	@archive="$$(clang -print-file-name=libstdc++.a)"; \
	[ -f "$$archive" ] || { echo "make: no libstdc++.a (clang -print-file-name); apt: libstdc++-12-dev"; exit 1; }; \
	mkdir -p "$(@D)" && ln -sf "$$archive" "$@"

# ExecStart=swatchd-hello is a plain name looked up in swatchd's PATH
# (swatchd.service(5), man/swatchd.service.5): put the build dir first so the
# example finds it.
# No --runtime-dir: the default one, so a plain `swatchctl` in another
# terminal finds this daemon.
run: build
	@bin="$$($(SWIFT) build --show-bin-path)"; \
	echo "make run: swatchd on conf/examples/hello; try: curl http://localhost:8080/"; \
	PATH="$$bin:$$PATH" exec "$$bin/swatchd" --unit-dir conf/examples/hello --log-target stderr

# The one test command (.ci/run): the integration tests find swatchd,
# swatchctl and swatchd-hello in the build dir, so build them first.
test: deps lint
	$(SWIFT) build
	$(SWIFT) test

lint:
	@if [ -z "$(MAN_PAGES)" ]; then echo "make lint: no man pages yet"; exit 0; fi; \
	command -v mandoc >/dev/null || { echo "make lint: mandoc missing; run make deps"; exit 1; }; \
	mandoc -Tlint -Wwarning $(MAN_PAGES)

# BIN_DIR=DIR installs binaries already built there (the tests use the debug
# build: calling swift build from inside swift test would wait on its lock).
install:
	@bin="$(BIN_DIR)"; \
	if [ -z "$$bin" ]; then \
	    $(MAKE) -s release || exit 1; \
	    bin="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"; \
	fi; \
	root="$(DESTDIR)$(PREFIX)"; \
	echo "make install: into $$root"; \
	for program in $(PROGRAMS); do \
	    install -Dm755 -s --strip-program="$(STRIP)" "$$bin/$$program" "$$root/bin/$$program"; \
	done; \
	for page in $(MAN_PAGES); do \
	    section="$${page##*.}"; \
	    install -Dm644 "$$page" "$$root/share/man/man$$section/$${page##*/}"; \
	done; \
	install -d "$$root/share/swatchd/examples"; \
	cp -R conf/examples/. "$$root/share/swatchd/examples/"; \
	chmod -R u=rwX,go=rX "$$root/share/swatchd/examples"; \
	service="$(DESTDIR)$(SYSTEMD_UNIT_DIR)/swatchd.service"; \
	install -d "$${service%/*}"; \
	sed -E 's|^ExecStart=[^ ]*/swatchd( \|$$)|ExecStart=$(PREFIX)/bin/swatchd\1|' conf/swatchd.service >"$$service"; \
	chmod 644 "$$service"; \
	grep -q '^ExecStart=$(PREFIX)/bin/swatchd' "$$service" \
	    || { echo "make install: no ExecStart= to point at $(PREFIX)/bin/swatchd in conf/swatchd.service"; exit 1; }; \
	install -d -m 755 "$(DESTDIR)$(UNIT_DIR)"; \
	completions="$$(mktemp -d)"; trap 'rm -rf "$$completions"' EXIT; \
	for shell in bash zsh fish; do \
	    "$$bin/swatchctl" --generate-completion-script $$shell >"$$completions/$$shell" \
	        || { echo "make install: swatchctl --generate-completion-script $$shell failed"; exit 1; }; \
	done; \
	install -Dm644 "$$completions/bash" "$$root/share/bash-completion/completions/swatchctl"; \
	install -Dm644 "$$completions/zsh" "$$root/share/zsh/site-functions/_swatchctl"; \
	install -Dm644 "$$completions/fish" "$$root/share/fish/vendor_completions.d/swatchctl.fish"

# The fuzz targets exist only when SWATCH_FUZZ is set (libFuzzer breaks plain
# swift build: docs/HACKING.md "Tests, sanitizers, fuzzing"), in their own
# scratch dir so the normal build stays valid. One executable; SWATCH_FUZZ_TARGET
# picks the target (Fuzz/SwatchFuzz/main.swift). Each runs FUZZ_SECONDS on the
# committed seeds (Fuzz/corpus/TARGET) and writes what it finds to
# fuzz-corpus/TARGET (not committed); a crash leaves crash-* in the current dir
# and stops make.
# SWIFT_BACKTRACE=enable=no: the crash backtracer can hang under libFuzzer.
FUZZ_TARGETS ?= unit environment-file control-request control-response notify
FUZZ_FLAGS ?= -max_len=4096 -timeout=10 -rss_limit_mb=2048

fuzz:
	SWATCH_FUZZ=1 $(SWIFT) build -c release --scratch-path .build-fuzz --product SwatchFuzz \
	    --sanitize fuzzer --sanitize address
	bin="$$(SWATCH_FUZZ=1 $(SWIFT) build -c release --scratch-path .build-fuzz --show-bin-path)/SwatchFuzz"; \
	for target in $(FUZZ_TARGETS); do \
	    echo "make fuzz: $$target for $(FUZZ_SECONDS) s"; \
	    mkdir -p "fuzz-corpus/$$target"; \
	    SWATCH_FUZZ_TARGET="$$target" SWIFT_BACKTRACE=enable=no "$$bin" \
	        -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS) "fuzz-corpus/$$target" "Fuzz/corpus/$$target"; \
	done

# The integration tests run the swatchd, swatchctl and swatchd-hello built next to the
# test executable: here, all built with the AddressSanitizer, in a scratch dir of their
# own. -DSWATCH_SANITIZE compiles in the sanitizer's defaults (Sources/CSwatch/sanitizer.c).
# Without /proc the sanitizer's runtime writes a warning on stderr, which the test of a
# start without /proc reads: skipped. The unit tests are not run here: the sanitizer stops
# the first `#expect` comparing an optional UInt64 (docs/HACKING.md, "Tests, sanitizers,
# fuzzing").
SANITIZE_FLAGS = --scratch-path .build-sanitize --sanitize=address -Xcc -DSWATCH_SANITIZE

sanitize:
	$(SWIFT) build --build-tests $(SANITIZE_FLAGS)
	SWIFT_BACKTRACE=enable=no $(SWIFT) test --skip-build $(SANITIZE_FLAGS) \
	    --filter IntegrationTests --skip withoutProcTheCommandLineIsStillRead

# The release build of `make release`, then scripts/bench on it.
BENCH_FLAGS ?=
bench: release
	BIN_DIR="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)" scripts/bench $(BENCH_FLAGS)

clean:
	rm -rf .build .build-fuzz .build-sanitize
