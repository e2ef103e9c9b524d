"""Outputs shared by every command: maps and the run manifest."""
