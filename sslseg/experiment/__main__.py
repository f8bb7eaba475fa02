"`python -m sslseg.experiment JOB.json`: one job of an experiment, in the process `execute` started for it (see `sslseg.experiment.execute.job_main`)."
import sys
from .execute import job_main
sys.exit(job_main())
