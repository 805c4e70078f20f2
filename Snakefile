# shallowscaling: the end-to-end study of Defilippis et al., arXiv 2509.24882.
#   snakemake --cores 2                      # the whole default study
#   snakemake --cores 2 --configfile OVERLAY # an overlay (tiny test study, paper scale)
# Rules are thin: each calls `python -m shallowscaling ...`; the package does the work.
import sys

from snakemake.utils import min_version

min_version("9.0")


# Read every config file strictly before Snakemake uses config.yaml, one line on failure (no
# traceback): duplicate keys, a folder or binary file, a non-mapping (a target read as a config
# file) and YTE's `__use_yte__`. Snakemake has already loaded the --configfile overlays when this
# runs (YTE expressions in an overlay are evaluated by then; no job starts), see docs/cluster.md.
from shallowscaling.config import read_config_file
from shallowscaling.errors import ConfigError

for _path in [os.path.join(workflow.basedir, "config.yaml"), *workflow.overwrite_configfiles]:
    try:
        read_config_file(_path)
    except ConfigError as _error:
        sys.exit(f"shallowscaling: config error: {_error}")


configfile: os.path.join(workflow.basedir, "config.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/spectra.smk"
include: "workflow/rules/scaling.smk"
include: "workflow/rules/classic.smk"


rule all:
    input:
        all_targets(),
    default_target: True
