"""``python -m shared``: the ``federation`` command (see :mod:`shared.doctor.cli`)."""

import sys

from shared.doctor.cli import main

sys.exit(main())
