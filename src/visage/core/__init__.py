"""visage's framework-free core: typed data, emotion, text, audio analysis (and, later, motion and
rendering). Plain synchronous numpy; it imports no web or async framework."""
