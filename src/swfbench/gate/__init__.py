"""`swfbench gate`: judge a run's results against gate files, for CI."""
