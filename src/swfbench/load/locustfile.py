"""The package's locustfile: `locust -f` this (or the repo's thin `loadtests/locustfile.py`).

    locust -f loadtests/locustfile.py --host http://127.0.0.1:PORT \
        --swf-fleet scenarios/load/steady.yaml
"""

from locust import events

from swfbench.load.hooks import install
from swfbench.load.users import ProfileShape, Sender

install(events)

__all__ = ["ProfileShape", "Sender"]
