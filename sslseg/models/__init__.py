"ERFNet, the other backbones behind one interface, and receptive fields (notebooks `nbs/models/`)."
from .erfnet import *
from .backbones import *
from .receptive import *
from .fast import *
