from logistics.cli import main

raise SystemExit(main())
