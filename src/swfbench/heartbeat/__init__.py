"""`swfbench heartbeat`: the seed page's `aws swf record-activity-task-heartbeat`, for any target."""
