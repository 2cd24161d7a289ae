# Tocsin — the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build run test bench check fuzz test-kernel deb cross clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/tocsin ./cmd/tocsin

# The demo: simulated modem and GPIO, SQLite in ./tocsin-data, console and
# API on http://127.0.0.1:8080 (token "demo").
run: build
	./bin/tocsin serve

# Unit, integration and end-to-end tests with the race detector: every
# test runs. First the Debian packages the tests need (.ci/packages.txt) are
# installed when missing (as root with apt), or make stops with the command
# to run; then the .deb packages are built for the package tests. A test
# skips only when asked: TOCSIN_SKIP=browser,mqtt,... (tags in README,
# Development). By default the kernel GPIO test is left to `make
# test-kernel` and the install test, which changes the host, to
# TOCSIN_TEST_INSTALL=1. The run ends with the list of what was skipped.
# TEST_PKGS narrows the run while working on one part (./systemd/ ...).
TOCSIN_SKIP ?= kernel,install
TEST_PKGS   ?= ./...
SKIP_LOG    := $(CURDIR)/bin/test-skips.txt
test:
	@.ci/install-test-packages .ci/packages.txt
	$(MAKE) build deb
	@rm -f '$(SKIP_LOG)'
	@status=0; TOCSIN_SKIP='$(TOCSIN_SKIP)' TOCSIN_SKIP_LOG='$(SKIP_LOG)' \
		$(GO) test -race -count=1 -timeout 12m $(TEST_PKGS) || status=$$?; \
	if [ -s '$(SKIP_LOG)' ]; then \
		echo "skipped (TOCSIN_SKIP=$(TOCSIN_SKIP)): $$(wc -l <'$(SKIP_LOG)') tests"; \
		sort '$(SKIP_LOG)' | sed 's/^/  /'; \
	else echo "skipped: none"; fi; \
	exit $$status

# Benchmarks print figures (ingest rate, POST→AT+CMGS latency, RSS, ...).
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 20m ./...

check: cross
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(MAKE) test

clean:
	rm -rf bin dist

# --- Appliance builds (systemd/, docs/packaging.md) ---
# Static binaries with cgo SQLite through Debian's cross compilers
# (gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf): one file that runs on
# any Pi OS or Debian release. netgo and osusergo keep glibc's NSS, which
# cannot be linked statically, out of the binary.
CROSS_TAGS  := osusergo,netgo,sqlite_omit_load_extension
NFPM        := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
# A Debian version from git describe: v1.2.0 -> 1.2.0, v1.2.0-3-gabc ->
# 1.2.0+3+gabc, an untagged commit abc -> 0.0.0~git20261124.abc (sorting
# below any release). Expanded once, like LDFLAGS, so that the package and
# the binary inside agree even when HEAD moves during the build.
DEB_VERSION := $(shell echo '$(VERSION)' | sed -E '/^v?[0-9]+\.[0-9]/!s/^/0.0.0~git'"$$(date -u +%Y%m%d)"'./; s/^v//; s/-/+/g')

# $(call static-build,GOARCH,GOARM,CC,OUTPUT)
define static-build
CGO_ENABLED=1 GOOS=linux GOARCH=$(1) GOARM=$(2) CC=$(3) \
	$(GO) build -trimpath -tags '$(CROSS_TAGS)' \
	-ldflags '$(LDFLAGS) -s -w -linkmode external -extldflags -static' \
	-o $(4) ./cmd/tocsin
endef

# ARMv6 (Pi Zero, Pi 1) is not built here: Debian's armhf compiler targets
# ARMv7. Build on the device instead (docs/packaging.md).
cross:
	$(call static-build,arm64,,aarch64-linux-gnu-gcc,dist/tocsin-linux-arm64)
	$(call static-build,arm,7,arm-linux-gnueabihf-gcc,dist/tocsin-linux-armv7)

# One .deb per architecture into dist/; amd64 is a native static build.
deb: cross
	rm -f dist/*.deb
	$(call static-build,amd64,,gcc,dist/tocsin-linux-amd64)
	TOCSIN_VERSION='$(DEB_VERSION)' TOCSIN_ARCH=amd64 TOCSIN_BINARY=dist/tocsin-linux-amd64 \
		$(GO) run $(NFPM) package -f systemd/nfpm.yaml -p deb -t dist/
	TOCSIN_VERSION='$(DEB_VERSION)' TOCSIN_ARCH=arm64 TOCSIN_BINARY=dist/tocsin-linux-arm64 \
		$(GO) run $(NFPM) package -f systemd/nfpm.yaml -p deb -t dist/
	TOCSIN_VERSION='$(DEB_VERSION)' TOCSIN_ARCH=arm7 TOCSIN_BINARY=dist/tocsin-linux-armv7 \
		$(GO) run $(NFPM) package -f systemd/nfpm.yaml -p deb -t dist/

# Kernel-level GPIO test: Debian's kernel under QEMU with gpio-sim (built
# out of tree), running device/kerneltest against real /dev/gpiochip lines.
# Installs its Debian packages if missing; about 15 s warm, a minute cold.
test-kernel:
	bash device/kerneltest/run.sh
