"Transfer stages from pretext checkpoints into segmentation models (notebooks `nbs/transfer/`)."
from .load import *
from .freeze import *
from .reinit import *
from .widgets import *
