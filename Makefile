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
	mkdir -p .build/docs
	$(SWIFT) package --allow-writing-to-directory .build/docs generate-documentation --target Graph --output-path .build/docs/Graph --transform-for-static-hosting
	@echo "API documentation in .build/docs/ (the guides are in docs/)"

clean:
	rm -rf .build
