#!/usr/bin/env python
"""Kill `ingest` with SIGKILL at random points and check that nothing was lost (the long run of
what tests/test_data_safety.py checks briefly); the logic is tests/kill_ingest.py.

    .venv/bin/python scripts/kill_ingest.py --runs 200
"""

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    runpy.run_module("tests.kill_ingest", run_name="__main__")
