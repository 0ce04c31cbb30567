"""The pytest glue: fixtures, the xdist scheduling, the session object and its stash keys, and the API the case
files import."""
