"""The solution notebooks are not nbval tests: `make test` would otherwise execute every cell (adapters
trained, many answers generated) and compare outputs they do not store. tests/test_solutions.py checks
them cheaply; `make solutions` executes them in full."""
collect_ignore_glob = ["*.ipynb"]
