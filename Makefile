# swatchd — make run, make test, and the rest (README.md "Make targets").
#
#   make deps      install the Debian packages the build and the tests need
#   make build     debug build (swift build)
#   make release   release build
#   make run       build, then run swatchd on conf/examples/hello (port 8080)
#   make test      deps + lint + swift build + swift test  (what .ci/run runs)
#   make lint      mandoc -Tlint over man/
#   make install   PREFIX=/usr/local DESTDIR=  binaries, man pages, examples, completions,
#                  swatchd.service, /etc/swatchd
#   make fuzz      libFuzzer over the unit parser for FUZZ_SECONDS (default 60)
#   make bench     scripts/bench, when there is one
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
FUZZ_SECONDS ?= 60
# --static-swift-stdlib: 5.5 MB instead of 8 MB resident and a faster start
# (docs/HACKING.md "Footprint and start-up"); libsystemd stays a shared
# library either way.
RELEASE_FLAGS ?= -c release --static-swift-stdlib

# Debian packages: the build (libsystemd-dev, libseccomp-dev, pkg-config), the tests
# (python3-systemd test services, curl, ss from iproute2, systemd-journald and
# journalctl from systemd, unshare from util-linux) and the lint (mandoc).
DEB_PACKAGES := libsystemd-dev libseccomp-dev pkg-config python3-systemd mandoc curl iproute2 systemd util-linux

MAN_PAGES = $(wildcard man/*.[158])

.PHONY: all deps build release run test lint install fuzz bench clean

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

build:
	$(SWIFT) build

release:
	$(SWIFT) build $(RELEASE_FLAGS)

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
	    $(SWIFT) build $(RELEASE_FLAGS); \
	    bin="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"; \
	fi; \
	root="$(DESTDIR)$(PREFIX)"; \
	echo "make install: into $$root"; \
	for program in swatchd swatchctl swatchd-hello; do \
	    install -Dm755 "$$bin/$$program" "$$root/bin/$$program"; \
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
	    if "$$bin/swatchctl" --generate-completion-script $$shell >"$$completions/$$shell" 2>/dev/null \
	        && grep -qE '^#compdef|complete ' "$$completions/$$shell"; then :; \
	    else \
	        echo "make install: swatchctl has no --generate-completion-script yet; skipping completions"; \
	        exit 0; \
	    fi; \
	done; \
	install -Dm644 "$$completions/bash" "$$root/share/bash-completion/completions/swatchctl"; \
	install -Dm644 "$$completions/zsh" "$$root/share/zsh/site-functions/_swatchctl"; \
	install -Dm644 "$$completions/fish" "$$root/share/fish/vendor_completions.d/swatchctl.fish"

# The fuzz target exists only when SWATCH_FUZZ is set (libFuzzer breaks plain
# swift build: docs/HACKING.md "Tests, sanitizers, fuzzing"), in its own
# scratch dir so the normal build stays valid.
# SWIFT_BACKTRACE=enable=no: the crash backtracer can hang under libFuzzer.
fuzz:
	SWATCH_FUZZ=1 $(SWIFT) build -c release --scratch-path .build-fuzz --product SwatchFuzz \
	    --sanitize fuzzer --sanitize address
	mkdir -p fuzz-corpus
	find conf -type f \( -name '*.socket' -o -name '*.service' -o -name '*.conf' \) -print0 | \
	while IFS= read -r -d '' unit; do \
	    seed="fuzz-corpus/seed-$$(echo "$$unit" | tr / _)"; \
	    [ -e "$$seed" ] || cp "$$unit" "$$seed"; \
	done
	SWIFT_BACKTRACE=enable=no "$$(SWATCH_FUZZ=1 $(SWIFT) build -c release --scratch-path .build-fuzz --show-bin-path)/SwatchFuzz" \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -rss_limit_mb=2048 fuzz-corpus

bench:
	@if [ -x scripts/bench ]; then scripts/bench; else echo "make bench: no scripts/bench yet"; fi

clean:
	rm -rf .build .build-fuzz
