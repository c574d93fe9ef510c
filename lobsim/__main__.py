import sys

from lobsim.cli import main

sys.exit(main())
