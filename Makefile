# Splice. `make run` starts a development server; `make test` runs every test. See README.md.

# Tool versions, pinned.
STATICCHECK_VERSION := v0.6.1 # staticcheck 2025.1.1
BENCHSTAT_VERSION   := v0.0.0-20250207173213-9ef51b7b6b87

GO     ?= go
CLANG  ?= clang
WAT2WASM ?= wat2wasm
OUT    := .build
W      := $(OUT)/wasm

gosrc = $(shell find $(1) -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) 2>/dev/null)
PDK_GO := $(call gosrc,pdk/go)
PDK_C  := pdk/c/splice.h

# Go guests: standard Go, WASI reactor (c-shared), //go:wasmexport. Written to a temporary file and
# renamed, so that concurrent builds (parallel test packages) never see a half-written module.
define go_guest
	@mkdir -p $(W)
	cd $(dir) && GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -o $(CURDIR)/$@.tmp$$$$ . && mv -f $(CURDIR)/$@.tmp$$$$ $(CURDIR)/$@
endef

# C guests: freestanding C with Debian's clang and wasm-ld, no libc.
CFLAGS_WASM := --target=wasm32 -O2 -msimd128 -mbulk-memory -nostdlib -ffreestanding -Wl,--no-entry -Wl,--strip-all -I pdk/c
define c_guest
	@mkdir -p $(W)
	$(CLANG) $(CFLAGS_WASM) -o $@.tmp$$$$ $< && mv -f $@.tmp$$$$ $@
endef

GO_GUESTS := connector-json connector-echo connector-chat conformance-go conformance-extism-go http-probe auth-probe
# chat-c is the C port of connectors/chat (the same app, chat@1.0.0), for benchmarks and
# cross-checks. It is not named connector-*.wasm: `splice dev` deploys every connector-*.wasm of
# its directory, and two connectors of app chat would collide.
C_GUESTS  := connector-text connector-webhook chat-c conformance-c
CONNECTORS := $(W)/connector-json.wasm $(W)/connector-echo.wasm $(W)/connector-chat.wasm $(W)/connector-text.wasm \
	$(W)/connector-webhook.wasm
GUESTS := $(foreach g,$(GO_GUESTS) $(C_GUESTS),$(W)/$(g).wasm)

$(W)/connector-json.wasm: dir := connectors/json
$(W)/connector-json.wasm: $(call gosrc,connectors/json) $(PDK_GO)
	$(go_guest)
$(W)/connector-echo.wasm: dir := connectors/echo
$(W)/connector-echo.wasm: $(call gosrc,connectors/echo) $(PDK_GO)
	$(go_guest)
$(W)/connector-chat.wasm: dir := connectors/chat
$(W)/connector-chat.wasm: $(call gosrc,connectors/chat) $(PDK_GO)
	$(go_guest)
$(W)/conformance-go.wasm: dir := testdata/conformance/go
$(W)/conformance-go.wasm: $(call gosrc,testdata/conformance/go) $(PDK_GO)
	$(go_guest)
$(W)/http-probe.wasm: dir := testdata/guests/go-http-probe
$(W)/http-probe.wasm: $(call gosrc,testdata/guests/go-http-probe) $(PDK_GO)
	$(go_guest)
$(W)/auth-probe.wasm: dir := testdata/guests/go-auth-probe
$(W)/auth-probe.wasm: $(call gosrc,testdata/guests/go-auth-probe) $(PDK_GO)
	$(go_guest)
$(W)/conformance-extism-go.wasm: dir := testdata/conformance/extism-go
$(W)/conformance-extism-go.wasm: $(call gosrc,testdata/conformance/extism-go)
	$(go_guest)
$(W)/connector-text.wasm: connectors/text/text.c $(PDK_C) | tools
	$(c_guest)
$(W)/conformance-c.wasm: testdata/conformance/c/conformance.c $(PDK_C) | tools
	$(c_guest)
$(W)/connector-webhook.wasm: connectors/webhook/webhook.c $(PDK_C) | tools
	$(c_guest)
$(W)/chat-c.wasm: connectors/chat-c/chat.c $(PDK_C) | tools
	$(c_guest)

# WAT fixtures are committed with their .wasm; `make testdata` rebuilds them, `make testdata-check`
# fails when a committed .wasm differs from what its .wat compiles to.
WAT := $(wildcard testdata/guests/*.wat testdata/conformance/*.wat)
MALFORMED := testdata/guests/malformed.wasm

tools:
	@bash .ci/tools.sh

.PHONY: tools all build test test-go test-guests check fmt lint vet tidy-check connectors guests testdata testdata-check bench bench-e2e crash-e2e run clean

all: build connectors

build:
	$(GO) build -o $(OUT)/splice ./cmd/splice

connectors: $(CONNECTORS)

guests: $(GUESTS)

testdata: tools
	@for f in $(WAT); do $(WAT2WASM) $$f -o $${f%.wat}.wasm || exit 1; done
	printf '\000asm\001\000\000\000\001\005\001\140' > $(MALFORMED)

testdata-check: tools
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	for f in $(WAT); do \
		$(WAT2WASM) $$f -o $$tmp/out.wasm || exit 1; \
		cmp -s $$tmp/out.wasm $${f%.wat}.wasm || { echo "testdata drift: $${f%.wat}.wasm is not what $$f compiles to; run make testdata"; exit 1; }; \
	done && \
	printf '\000asm\001\000\000\000\001\005\001\140' > $$tmp/m.wasm && cmp -s $$tmp/m.wasm $(MALFORMED) || { echo "testdata drift: $(MALFORMED)"; exit 1; }
	@echo "testdata: $(words $(WAT)) WAT fixtures match their .wasm"

# test: fixtures, guests built from source, the host's tests with the race detector, the PDK's own tests.
test: tools testdata-check guests test-go test-guests

test-go:
	$(GO) test -race -shuffle=on -timeout 20m ./...

GUEST_MODULES := pdk/go connectors/json connectors/echo connectors/chat testdata/guests/go-http-probe testdata/guests/go-auth-probe

test-guests:
	@for d in $(GUEST_MODULES); do (cd $$d && $(GO) test ./...) || exit 1; done

check: fmt vet lint tidy-check

fmt:
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	@for d in $(GUEST_MODULES) testdata/conformance/go testdata/conformance/extism-go; do \
		(cd $$d && GOOS=wasip1 GOARCH=wasm $(GO) vet ./...) || exit 1; done

lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

tidy-check:
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

# bench: the engine benchmarks on both engines beside the raw wazero floor (host/sandbox/doc.go),
# durable writes, group commit against one transaction per event (host/kv), the domain store:
# durable accepts, lease+ack, restart with 1M waiting items (host/ledger), brokered requests against
# a plain client (host/broker), template evaluation (host/mapping) and runs/s (host/engine). Narrow
# it with BENCH (a -bench pattern) and BENCHPKG; compare runs with benchstat.
BENCH ?= .
BENCHCOUNT ?= 6
BENCHPKG ?= ./host/sandbox/ ./host/kv/ ./host/ledger/ ./host/broker/ ./host/mapping/ ./host/engine/
bench: guests
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -count=$(BENCHCOUNT) -timeout=60m $(BENCHPKG) | tee $(OUT)/bench.txt

# run needs only Go: it builds the CLI and the Go connectors and starts `splice dev` (data in
# ./.splice; SPLICE_* variables and ARGS pass its flags, e.g. make run ARGS='--listen 127.0.0.1:9090').
run: build $(W)/connector-json.wasm $(W)/connector-echo.wasm $(W)/connector-chat.wasm
	$(OUT)/splice dev --connectors $(W) $(ARGS)

# bench-e2e is the end-to-end load benchmark (workload W1) on loopback, bounded in time:
# cmd/splice-load e2e (its flags through E2E_ARGS, e.g. E2E_ARGS='--duration 20s --connections 16';
# --guests go runs W1 on the Go builds of its connectors instead of the C ones).
bench-e2e: build $(W)/connector-webhook.wasm $(W)/chat-c.wasm $(W)/connector-echo.wasm $(W)/connector-chat.wasm
	$(GO) build -o $(OUT)/splice-load ./cmd/splice-load
	$(OUT)/splice-load e2e --splice $(OUT)/splice --connectors $(W) $(E2E_ARGS) > $(OUT)/bench-e2e.txt; rc=$$?; cat $(OUT)/bench-e2e.txt; exit $$rc

# crash-e2e kills the server (SIGKILL) under W1's load and restarts it over the same data, five
# times by default (cmd/splice-load crash, its flags through CRASH_ARGS, e.g. CRASH_ARGS='--kills 10
# --interval 3s'); it fails when an accepted webhook never reached the upstream or ran as two
# runs. Loopback only, bounded in time.
crash-e2e: build $(W)/connector-webhook.wasm $(W)/chat-c.wasm
	$(GO) build -o $(OUT)/splice-load ./cmd/splice-load
	$(OUT)/splice-load crash --splice $(OUT)/splice --connectors $(W) $(CRASH_ARGS) > $(OUT)/crash-e2e.txt; rc=$$?; cat $(OUT)/crash-e2e.txt; exit $$rc

clean:
	rm -rf $(OUT)
