"""Load: Locust fleets of simulated SWF activity workers and heartbeat-specific metrics.

The Locust entry point is `swfbench.load.locustfile` (and the repo's `loadtests/locustfile.py`);
`swfbench load` runs it. Importing this package does not import Locust.
"""

from swfbench.load.histogram import RELATIVE_ERROR, Histogram
from swfbench.load.metrics import FleetMetrics
from swfbench.load.profile import Profile, load_profile, parse_profile
from swfbench.load.sigv4 import Signer

__all__ = [
    "RELATIVE_ERROR",
    "FleetMetrics",
    "Histogram",
    "Profile",
    "Signer",
    "load_profile",
    "parse_profile",
]
