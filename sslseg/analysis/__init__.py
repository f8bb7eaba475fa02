"Looking inside the networks: features, t-SNE, top activations, feature shift, filter images, cluster views, per-layer frozen probes (notebooks `nbs/analysis/`)."
from .features import *
from .tsne import *
from .topact import *
from .shift import *
from .filters import *
from .clusters import *
from .probes import *
