# ferry — see README.md.
GO      ?= go
BIN     := bin/ferry
PROTOC_GEN_GO := $(shell $(GO) env GOPATH)/bin/protoc-gen-go

.PHONY: build run test bench lint proto bench-deps test-deps clean soak fuzz

build:
	$(GO) build -o $(BIN) ./cmd/ferry

# Starts the daemon in the foreground with the default home and config; it
# prints the web UI address on start.
run: build
	./$(BIN) serve

# Unit, end-to-end and race tests. The web UI is tested in a real browser
# (Debian's chromium, installed when missing); local discovery and pairing
# are tested across network namespaces (ip, from iproute2), which needs root.
test: lint test-deps
	FERRY_REQUIRE_BROWSER=1 $(GO) test -race -count=1 -timeout 20m ./...

test-deps:
	@[ -x /usr/bin/chromium ] && command -v ip >/dev/null && command -v nft >/dev/null && command -v miniupnpd >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium iproute2 nftables miniupnpd-nftables; }

# Long randomized runs, without the race detector: the simulator's chaos
# suite over SOAK_SEEDS seeds from SOAK_FIRST. A failing seed is printed
# with the command that replays it.
SOAK_SEEDS ?= 10000
SOAK_FIRST ?= 1
soak:
	$(GO) test -run 'TestSim$$' -count=1 -timeout 120m ./engine/enginetest -seeds $(SOAK_SEEDS) -firstseed $(SOAK_FIRST)

# Fuzzing: every fuzz target in turn, FUZZTIME each. A new interesting
# input is minimized for at most FUZZMINIMIZETIME, so that a large one does
# not hold a worker for a minute. FUZZFLAGS adds flags (-parallel=1 on a
# shared machine). A crasher is written to its package's testdata/fuzz/.
FUZZTIME ?= 60s
FUZZMINIMIZETIME ?= 5s
FUZZFLAGS ?=
FUZZ_TARGETS := \
	./proto:FuzzReadMessage ./proto:FuzzRecordPayload ./proto:FuzzReadBounded \
	./proto:FuzzValidateFile ./proto:FuzzValidateMessage ./proto:FuzzValidName ./proto:FuzzNameJoin \
	./proto/noise:FuzzServerHandshake ./proto/noise:FuzzTransport \
	./proto/pair:FuzzReadFrame ./proto/pair:FuzzDecodeMessage ./proto/pair:FuzzParseCode \
	./proto/pair:FuzzParseHello ./proto/pair:FuzzIntro ./proto/pair:FuzzAbortReason \
	./index:FuzzDecodeRecord ./index:FuzzEncodeRecord \
	./discovery/lan:FuzzDecode ./discovery/lan:FuzzEncode ./discovery/lan:FuzzHandle \
	./engine/config:FuzzDecode ./engine/config:FuzzDuration ./engine/config:FuzzParseRate ./engine/enginetest:FuzzSim \
	./platform:FuzzTempName ./platform:FuzzDecodeKey ./platform/service:FuzzSystemdWord \
	./web:FuzzRequestBody
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; echo "fuzz $$name in $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) \
			-fuzzminimizetime $(FUZZMINIMIZETIME) $(FUZZFLAGS) $$pkg; \
	done

# Benchmarks: in-package Go benchmarks, then the whole-process comparisons
# with cp, rsync and Syncthing (installed from Debian when missing).
bench: bench-deps
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 60m ./index/... ./proto/... ./engine/node
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m -v ./cmd/ferry/e2e

bench-deps:
	@command -v syncthing >/dev/null && command -v rsync >/dev/null && command -v restic >/dev/null && [ -x /usr/bin/time ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq syncthing rsync restic time; }

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

proto:
	@[ -x $(PROTOC_GEN_GO) ] || $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	@command -v protoc >/dev/null || { apt-get update -qq && apt-get install -y -qq protobuf-compiler; }
	protoc --plugin=$(PROTOC_GEN_GO) --go_out=. --go_opt=module=ferry proto/pb/ferry.proto proto/pb/pair.proto

clean:
	rm -rf bin
