# SymGraph: the two commands a newcomer needs are `make demo` and `make test`.
SWIFT ?= swift
CONFIG ?= release
QUICK ?=
BENCH_FLAGS = $(if $(QUICK),--quick,)

.PHONY: deps build demo test bench bench-peers docs clean

deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build -c $(CONFIG) --product symgraph

demo: build
	$(SWIFT) run -c $(CONFIG) symgraph demo

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: build
	$(SWIFT) run -c release symgraph bench $(BENCH_FLAGS)

bench-peers: build
	./bench/peers/run.sh

docs: deps
	$(SWIFT) package --allow-writing-to-directory docs/api generate-documentation --target SymGraph --output-path docs/api --transform-for-static-hosting 2>/dev/null || echo "docs: swift-docc-plugin not configured yet"

clean:
	rm -rf .build
