"The task contract and registry, and every pretext task; importing this package registers all of them (notebooks `nbs/tasks/`)."
from .base import *
from .patch import *
from .dense import *
from .cluster import *
