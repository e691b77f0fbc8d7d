from customer_agent_warehouse.cli import main

raise SystemExit(main())
