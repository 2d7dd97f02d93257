"""Developer tools, not installed with the package: the benchmark suite and the loopback sample server."""
