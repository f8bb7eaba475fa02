"Stages between pretext pretraining and fine-tuning: Mix-and-Match tuning and teacher-to-student knowledge transfer (notebooks `nbs/tune/`)."
from .mixmatch import *
from .knowledge import *
