import sys

from plurum_mcp.cli import main

sys.exit(main())
