"""`swfbench plan`: how many workers, at what heartbeat interval, before SWF throttles."""
