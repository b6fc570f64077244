"""Tests that need a real Redis Cluster or Sentinel group: only under `make test-cluster`
(tests/cluster/run.py starts the topologies and sets QB_TOPOLOGY); `make test` skips collecting them."""
import os

collect_ignore_glob = [] if os.environ.get("QB_TOPOLOGY") else ["test_*.py"]
