"""Status posts: posting text, image and video statuses, and contacts' posts as ``status.received``."""
