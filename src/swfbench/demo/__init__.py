"""`swfbench demo`: one activity heartbeated by hand on the embedded target."""
