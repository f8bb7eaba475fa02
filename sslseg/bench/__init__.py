"Benchmarks that print figures: the plain eager ERFNet against the fast paths, data loading, pretext batch making (notebooks `nbs/bench/`; `sslseg bench`, `sslseg bench-tasks`)."
from .speed import *
from .tasks import *
