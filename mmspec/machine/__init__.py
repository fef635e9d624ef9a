"""Real machines and real failure reports (issue 13).

* ``procfs``/``importer``: read /proc and /sys files of a machine (a directory or tarball) and
  write scope files (full scale and scaled down) -- ``mmspec import``;
* ``report``/``gfp``/``rules``/``diagnose``/``designs``: parse a pasted "page allocation
  failure" report, redo the watermark arithmetic of its kernel generation, classify the
  failure and compare the designs on a scope with its proportions -- ``mmspec diagnose``;
* ``scaling``: the one rounding rule for scaled-down scopes; ``text``: input errors that name
  file and line, log prefixes, kernel version ranges.
"""
