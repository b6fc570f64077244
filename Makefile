# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
# The first interpreter that runs and is 3.11+ (pyenv shims may exist without working).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test test-cluster bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "qunbot needs Python 3.11 or newer on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

run: install  ## start the service on the demo config (embedded Redis, fake WeCom)
	$(BIN)/qunbot -c config.toml serve

test: install  ## the whole suite; starts a private redis-server when none answers
	$(BIN)/python -m pytest

test-cluster: install  ## pipeline, coupon, 接龙 and digest suites + failover and rolling-restart tests
	# against a 3-master/3-replica Redis Cluster and a Sentinel group it starts (free ports, temp dirs)
	$(BIN)/python -m tests.cluster.run

bench: install  ## benchmarks (each prints figures and ratios against its baseline); run them alone
	$(BIN)/python bench/qa_eval.py
	$(BIN)/python bench/qa_speed.py
	$(BIN)/python bench/qa_memory.py  # a 1,000-store chain's Q&A memory; takes minutes
	$(BIN)/python bench/callback_load.py  # uses wrk when installed (apt-get install wrk)
	$(BIN)/python bench/coupon_load.py
	$(BIN)/python bench/send_roundtrips.py
	$(BIN)/python bench/groupbuy_ledger.py
	$(BIN)/python bench/handle_cost.py
	$(BIN)/python bench/archive_ingest.py
	$(BIN)/python bench/digest_scale.py
	$(BIN)/python bench/console_render.py  # console pages on a 1,000-store chain
	$(BIN)/python bench/slowloris.py
	$(BIN)/python bench/chain_scale.py  # 1,000 stores x 5,000 SKUs on one worker (--quick: 100 stores)
	$(BIN)/python bench/chain_scale.py --workers 2  # a second worker joins 5 s in: its share
	$(BIN)/python bench/faults.py  # ~30 min: Redis/WeCom faults, 5 kill -9, a 10-min soak (own Redis)

clean:
	rm -rf $(VENV) var .pytest_cache *.egg-info
