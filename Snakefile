# shallowscaling: the end-to-end study of Defilippis et al., arXiv 2509.24882.
#   snakemake --cores 2                      # the whole default study
#   snakemake --cores 2 --configfile OVERLAY # an overlay (tiny test study, paper scale)
# Rules are thin: each calls `python -m shallowscaling ...`; the package does the work.
from snakemake.utils import min_version

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/predict.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/spectra.smk"
include: "workflow/rules/scaling.smk"


rule all:
    input:
        all_targets(),
    default_target: True
