"""The ``momentum`` command line (an edge: it may import flows; the domain library never does)."""
