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

# Unit, integration and end-to-end tests with the race detector. Tests that
# need mosquitto, Alertmanager or gammu skip only when those are absent;
# .ci/run installs them.
test: build
	$(GO) test -race -count=1 -timeout 12m ./...

# Benchmarks print figures (ingest rate, POST→AT+CMGS latency, RSS, ...).
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 20m ./...

check: cross
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) test -race -count=1 -timeout 12m ./...

clean:
	rm -rf bin dist
