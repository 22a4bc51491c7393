# Basalt: the two set-up commands are `make run` and `make test`.
GO        ?= go
PKGS_ARM  := ./resp/ ./keyspace/ ./datatypes/ ./datatypes/hashes/ ./datatypes/lists/ ./datatypes/sets/ ./datatypes/zsets/ ./datatypes/hll/ ./datatypes/geo/
ARM_DIR   := $(CURDIR)/bin/arm64

.PHONY: run build test unit race e2e arm64 fuzz soak bench vet clean

run:
	$(GO) run ./cmd/basalt $(ARGS)

build:
	$(GO) build -o bin/basalt ./cmd/basalt

vet:
	$(GO) vet ./...

# Everything CI runs; stays well under 20 minutes on 2 cores.
test: vet unit race e2e arm64

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /e2e)

race:
	$(GO) test -count=1 -race -tags invariants ./loop/ ./keyspace/ ./aof/

e2e:
	$(GO) test -count=1 -timeout 15m ./e2e/

# Cross-build the portable packages for linux/arm64 and run their unit tests
# under qemu user-mode emulation.
arm64:
	@mkdir -p $(ARM_DIR)
	@command -v qemu-aarch64 >/dev/null || { echo "qemu-aarch64 missing: apt-get install -y qemu-user"; exit 1; }
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -o $(ARM_DIR)/basalt ./cmd/basalt
	@set -e; for p in $(PKGS_ARM); do \
		n=$$(basename $$p); \
		CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) test -c -o $(ARM_DIR)/$$n.test $$p; \
		echo "qemu-aarch64 $$n.test"; \
		(cd $$p && qemu-aarch64 $(ARM_DIR)/$$n.test -test.count=1 -test.short); \
	done

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./resp/
	$(GO) test -run '^$$' -fuzz FuzzLoad -fuzztime 60s ./aof/
	$(GO) test -run '^$$' -fuzz FuzzSparse -fuzztime 60s ./datatypes/hll/

soak:
	BASALT_SOAK=1 $(GO) test -count=1 -timeout 60m -run 'Soak|Random' ./e2e/

# In-memory and AOF (always, everysec) tables, the data-types table, the
# memory table, then the persistence tables (start-up on a 1M-key RDB and
# AOF; BGSAVE and BGREWRITEAOF under writes: time, peak RSS), then the
# features table (EVALSHA, XADD, pub/sub fan-out). Every step
# runs even if an earlier one failed (e.g. a command Basalt lacks: its cells
# say error); the target fails at the end if any did. See bench/README.md.
BENCH_ARGS ?= -aof always,everysec -aof-dir /var/tmp
DATATYPES_ARGS ?=
MEMORY_ARGS ?=
PERSIST_ARGS ?= -data-dir /var/tmp
FEATURES_ARGS ?=
bench:
	@status=0; \
	set -x; \
	$(GO) run ./bench/cmd/sidebyside $(BENCH_ARGS) || status=1; echo; \
	$(GO) run ./bench/cmd/sidebyside -inmemory=false -datatypes $(DATATYPES_ARGS) || status=1; echo; \
	$(GO) run ./bench/cmd/memory $(MEMORY_ARGS) || status=1; echo; \
	$(GO) run ./bench/cmd/persist $(PERSIST_ARGS) || status=1; echo; \
	$(GO) run ./bench/cmd/features $(FEATURES_ARGS) || status=1; \
	exit $$status

clean:
	rm -rf bin
