"""Processes on loopback for the tests and the benchmarks: `circle serve` instances, a private
redis-server, and any other server process, each on a free port with its output in a log file.

Both `tests/support/` and `bench/` build on this package; it imports neither of them, nor anything
of Circle's own code (it starts Circle as a separate process)."""
