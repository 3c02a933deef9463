"""The write path: read saved reports, parse them, embed their passages into Chroma."""
