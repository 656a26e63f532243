# The local stack's fixed interface (see README.md).
.PHONY: up down status test bench lint

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

lint:
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy
