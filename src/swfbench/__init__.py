"""swfbench: load and conformance benchmarking for SWF's RecordActivityTaskHeartbeat."""

__version__ = "0.1.0"
