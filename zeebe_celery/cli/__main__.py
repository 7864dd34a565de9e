"""``python -m zeebe_celery.cli``: how ``dev up`` starts its background server."""

import sys

from zeebe_celery.cli import main

sys.exit(main())
