"""The ``access`` command line (click): one module per command."""
