"Datasets, joint transforms, labeled subsets and class weights (notebooks `nbs/data/`)."
from .io import *
from .transforms import *
from .synthetic import *
from .datasets import *
from .subsets import *
from .cache import *
