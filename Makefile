# The local stack's fixed interface (see README.md).
.PHONY: up down status test bench bench-growth lint
.PHONY: compose-up compose-down compose-test
.PHONY: dist

up:        ## start Kafka, PostgreSQL and the four services (installs what is missing)
	@deploy/stack.sh up

down:      ## stop what `make up` started
	@deploy/stack.sh down

status:
	@deploy/stack.sh status

test:      ## ruff, mypy and the whole pytest suite on a private test stack
	@deploy/test.sh

bench:     ## benchmarks with ratios against raw baselines measured in the same run
	@deploy/bench.sh

bench-growth:  ## relay, batched consumer and import at 10k and 100k records (OCOP_BENCH_GROWTH_SIZES)
	@deploy/bench.sh bench.growth

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

compose-up:   ## docker-compose.yml with local images on the host's network (starts Docker if needed)
	@deploy/compose.sh up

compose-down: ## stop the compose stack and delete its volumes (compose down -v)
	@deploy/compose.sh down

compose-test: ## compose-up, an operator's checks of the running stack, compose down -v
	@deploy/compose.sh test

dist:      ## the ocop-contracts wheel with its JSON Schemas in dist/ (refused if a v1 schema was broken)
	@.venv/bin/python -m ocop_contracts.compat && uv build --wheel -o dist contracts
