"""Sources: the only code that does I/O. Each returns the same Evidence."""
