import sys

from tmt.cli import main

sys.exit(main())
