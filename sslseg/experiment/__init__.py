"The experiment runner (notebooks `nbs/experiment/`): specs, plans with stable job ids, resumable parallel execution, reports with paired deltas."
from .spec import *
from .plan import *
from .execute import *
from .report import *
