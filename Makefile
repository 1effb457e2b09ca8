# recordingsd: make run | make test | make build
#
# `make test` needs Go and Node.js with npm: it installs pouchdb-server into
# testenv/pouchdb/node_modules (once, from package-lock.json), then runs the
# tests against a throwaway server started by cmd/withcouch: the service's, and
# those of the benchmark (tools/recbench, a Go module of its own, which
# `go test ./...` at the root leaves out).

POUCHDB_DIR := testenv/pouchdb
# The benchmark: its own module (tools/recbench/go.mod, the service's module replaced by ../..).
BENCH_DIR := tools/recbench
# Touched after a successful install, so that npm ci runs again only when the lock file changes.
POUCHDB_STAMP := $(POUCHDB_DIR)/node_modules/.installed

.PHONY: build run test testdeps clean fuzz

build:
	go build -o bin/recordingsd ./cmd/recordingsd

# The API on 127.0.0.1:8000 over the embedded store (./data/recordings.db), seeded with demo
# data on first start. RECORDINGS_COUCHDB_URL=http://… make run uses a CouchDB instead.
run:
	RECORDINGS_LOG_FORMAT=$${RECORDINGS_LOG_FORMAT:-console} go run ./cmd/recordingsd serve --config config/recordings.example.yaml --demo

testdeps: $(POUCHDB_STAMP) e2edeps

$(POUCHDB_STAMP): $(POUCHDB_DIR)/package.json $(POUCHDB_DIR)/package-lock.json
	cd $(POUCHDB_DIR) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# The browser test of /ui/ (cmd/recordingsd/ui_e2e_test.go): playwright-core from npm, pinned in
# testenv/e2e/package-lock.json, and Debian's chromium, installed with apt when missing (as root).
# Where Chromium cannot be installed, the test is skipped: said here, loudly.
E2E_DIR := testenv/e2e
E2E_STAMP := $(E2E_DIR)/node_modules/.installed

.PHONY: e2edeps
e2edeps: $(E2E_STAMP)
	@if [ -z "$$RECORDINGS_E2E_CHROMIUM" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser test of /ui/…"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || true; \
	  fi; \
	  command -v chromium >/dev/null 2>&1 || { echo; \
	    echo "!!! Chromium could not be installed: the browser test of /ui/ (TestUIEndToEndInChromium) WILL BE SKIPPED !!!"; \
	    echo; }; \
	fi

$(E2E_STAMP): $(E2E_DIR)/package.json $(E2E_DIR)/package-lock.json
	cd $(E2E_DIR) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# staticcheck at a pinned version, fetched and built by Go itself (kept out of go.mod); its
# checks are in staticcheck.conf, for the service and the benchmark's module alike.
STATICCHECK := go run honnef.co/go/tools/cmd/staticcheck@v0.8.2

test: testdeps
	@unformatted=$$(gofmt -l cmd pkg internal couchviews tools); \
	  if [ -n "$$unformatted" ]; then echo "gofmt -w these files: $$unformatted"; exit 1; fi
	go vet ./...
	go vet -C $(BENCH_DIR) ./...
	$(STATICCHECK) ./...
	cd $(BENCH_DIR) && $(STATICCHECK) ./...
	go run ./cmd/withcouch -pouchdb $(POUCHDB_DIR) -- sh -c \
	  'go test -race -count=1 ./... && go test -C $(BENCH_DIR) -race -count=1 ./...'

# The benchmark's tests alone (its data set, its CouchDB client, Kazoo's design document).
.PHONY: bench-test
bench-test: testdeps
	go vet -C $(BENCH_DIR) ./...
	go run ./cmd/withcouch -pouchdb $(POUCHDB_DIR) -- go test -C $(BENCH_DIR) -race -count=1 ./...

# The same suites against a real CouchDB (`docker compose up couchdb`, or on our machines
# ../shared/couchdb/couchdb.sh): `make test-couchdb COUCHDB_URL=http://admin:admin@127.0.0.1:5984`.
# Tests that stop, freeze or sweep a server of their own start one CouchDB node each with
# COUCHDB_SH (default: ../shared/couchdb/couchdb.sh when it exists); without it they use
# pouchdb-server. COUCHDB_CLUSTER_DIR names a cluster started by `couchdb.sh cluster-start`:
# with it, TestClusterNodeDown stops and restarts its node 2 (run it alone: see .ci/run).
# COUCHDB_TEST_PKGS narrows the packages (default ./..., and then the benchmark's tests too).
COUCHDB_SH ?= $(wildcard $(CURDIR)/../shared/couchdb/couchdb.sh)
COUCHDB_TEST_RUN ?=
COUCHDB_TEST_PKGS ?= ./...
.PHONY: test-couchdb
COUCHDB_TEST_ENV = RECORDINGS_TEST_COUCHDB_URL='$(COUCHDB_URL)' RECORDINGS_TEST_REQUIRE_COUCHDB=1 \
	RECORDINGS_TEST_COUCHDB_SH='$(COUCHDB_SH)' RECORDINGS_TEST_COUCHDB_CLUSTER_DIR='$(COUCHDB_CLUSTER_DIR)'
COUCHDB_TEST_FLAGS = -race -count=1 $(if $(COUCHDB_TEST_RUN),-run '$(COUCHDB_TEST_RUN)')
test-couchdb: testdeps
	@test -n "$(COUCHDB_URL)" || { echo "usage: make test-couchdb COUCHDB_URL=http://admin:admin@127.0.0.1:5984"; exit 2; }
	$(COUCHDB_TEST_ENV) go test $(COUCHDB_TEST_FLAGS) $(COUCHDB_TEST_PKGS)
	$(if $(filter ./...,$(strip $(COUCHDB_TEST_PKGS))),$(COUCHDB_TEST_ENV) go test -C $(BENCH_DIR) $(COUCHDB_TEST_FLAGS) ./...)

clean:
	rm -rf bin $(POUCHDB_DIR)/node_modules coverage.out coverage.html

# Every fuzz target, one after the other, FUZZTIME each: `make fuzz FUZZTIME=5m`. (`make test`
# runs their seed corpora.) An input that fails is written to the package's testdata/fuzz/:
# add it as an f.Add seed; the corpus the fuzzer builds stays in Go's cache, out of the repo.
# Minimizing each new input is capped: uncapped (60s), a worker can spend most of its time on it.
FUZZTIME ?= 30s
FUZZMINIMIZETIME ?= 5s
FUZZ_TARGETS := \
	./pkg/recording:FuzzParseRecordingID \
	./pkg/recording:FuzzValidAccountID \
	./pkg/recording:FuzzPatchBody \
	./pkg/crossbar:FuzzNegotiate \
	./pkg/crossbar:FuzzParseRange \
	./pkg/crossbar:FuzzDecodeStartKey \
	./pkg/crossbar:FuzzFilter \
	./pkg/api:FuzzAPI

fuzz:
	@set -e; for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; name=$${target##*:}; \
		echo "== $$name in $$pkg for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$pkg; \
	done

# The service against the database it fronts, side by side (tools/recbench, built into
# bin/recbench and run from here, the repository's root, where it builds cmd/recordingsd and
# writes docs/BENCHMARKS.md): seeds the database and the embedded store with the demo data set,
# runs each comparison 5 times, prints a table and rewrites docs/BENCHMARKS.md, keeping its
# hand-written analysis. About 8 minutes on 2 cores. The figures that count are against Apache CouchDB:
#   make bench BENCHFLAGS='-couch http://admin:password@127.0.0.1:5984'
# (the demo account's month databases there are dropped and rewritten, with our design document
# and Kazoo's _design/recordings, whose crossbar query is the direct side of the listing; with
# -couch, recbench starts no pouchdb-server and this target does not install it). Without -couch,
# recbench starts a private pouchdb-server (the server of `make test`, with a bigger heap):
# secondary figures. More flags: BENCHFLAGS='-couch URL -runs 9'; every flag: BENCHFLAGS=-h.
# A small trial that leaves docs/BENCHMARKS.md alone: BENCHFLAGS='-only list -runs 1 -recordings 2000 -months 1 -out ""'.
.PHONY: bench
bench: $(if $(findstring -couch,$(BENCHFLAGS)),,$(POUCHDB_STAMP))
	go build -C $(BENCH_DIR) -o $(CURDIR)/bin/recbench .
	bin/recbench -pouchdb $(POUCHDB_DIR) $(BENCHFLAGS)
