"""Thin entry point: `locust -f loadtests/locustfile.py --host URL --swf-profile PROFILE.yaml`.

Everything lives in the package (`swfbench.load`); see `swfbench load --help`.
"""

from swfbench.load.locustfile import Sender, ProfileShape

__all__ = ["Sender", "ProfileShape"]
