"""`swfbench capacity`: step the heartbeat rate up until the target's SLO breaks (the knee)."""
