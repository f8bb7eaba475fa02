"The command line and the benchmarks (notebooks `nbs/run/`): thin layers over the library."
