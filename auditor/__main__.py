"""Allow ``python -m auditor`` as an alias of the ``iacs-audit`` command."""

from auditor.cli import main

if __name__ == "__main__":
    main()
