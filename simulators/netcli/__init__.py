"""Network devices' command lines for the SSH simulator (fixtures with a ``cli:`` section)."""
