"""`python -m customer_agent_warehouse.bench <worker> ...`: one measured phase of the benchmark."""

import sys

from customer_agent_warehouse.bench import worker_main

sys.exit(worker_main(sys.argv[1:]))
