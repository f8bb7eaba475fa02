"The task contract and registry, the batched augmentation, and every pretext task; importing this package registers all of them (notebooks `nbs/tasks/`)."
from .base import *
from .augment import *
from .patch import *
from .dense import *
from .cluster import *
