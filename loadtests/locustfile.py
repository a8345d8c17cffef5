"""Thin entry point: `locust -f loadtests/locustfile.py --host URL --swf-fleet FLEET.yaml`.

Everything lives in the package (`swfbench.load`); see `swfbench load --help`.
"""

from swfbench.load.locustfile import ProfileShape, Sender

__all__ = ["ProfileShape", "Sender"]
