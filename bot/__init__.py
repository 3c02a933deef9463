"""Telegram and the command line: handlers, formatting, settings, entry points."""
