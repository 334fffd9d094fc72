import sys

from kt_toolkit.cli import main

sys.exit(main())
