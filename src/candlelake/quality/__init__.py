"""Data-quality accounting: every minute of a window is either in the lake or explained."""
