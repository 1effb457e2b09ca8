# recordingsd: make run | make test | make build
#
# `make test` needs Go and Node.js with npm: it installs pouchdb-server into
# testenv/pouchdb/node_modules (once, from package-lock.json), then runs the
# tests against a throwaway server started by cmd/withcouch.

POUCHDB_DIR := testenv/pouchdb
# Touched after a successful install, so that npm ci runs again only when the lock file changes.
POUCHDB_STAMP := $(POUCHDB_DIR)/node_modules/.installed

.PHONY: build run test testdeps clean

build:
	go build -o bin/recordingsd ./cmd/recordingsd

# The API on 127.0.0.1:8000 over the embedded store (./data/recordings.db), seeded with demo
# data on first start. RECORDINGS_COUCHDB_URL=http://… make run uses a CouchDB instead.
run:
	RECORDINGS_LOG_FORMAT=$${RECORDINGS_LOG_FORMAT:-console} go run ./cmd/recordingsd serve --config config/recordings.example.yaml --demo

testdeps: $(POUCHDB_STAMP)

$(POUCHDB_STAMP): $(POUCHDB_DIR)/package.json $(POUCHDB_DIR)/package-lock.json
	cd $(POUCHDB_DIR) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

test: testdeps
	go vet ./...
	go run ./cmd/withcouch -pouchdb $(POUCHDB_DIR) -- go test -race -count=1 ./...

clean:
	rm -rf bin $(POUCHDB_DIR)/node_modules coverage.out coverage.html
