"The training engine, pretraining and segmentation fine-tuning (notebooks `nbs/train/`)."
from .learner import *
from .pretrain import *
from .segment import *
