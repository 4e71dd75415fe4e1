import sys

from candlelake.cli.main import main

sys.exit(main())
