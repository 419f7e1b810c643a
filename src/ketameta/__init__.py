"""ketameta: reproducible meta-analysis of ketamine and esketamine trials for depression.

Statistics live in small modules with one job each:

- :mod:`ketameta.data`: load and validate ``studies.csv`` / ``arms.csv``;
- :mod:`ketameta.config`: load and validate the workflow configuration;
- :mod:`ketameta.effects`: effect sizes (metafor's ``escalc`` measures) per analysis;
- :mod:`ketameta.frequentist`: fixed- and random-effects models (metafor's ``rma``);
- :mod:`ketameta.plots`: forest plots;
- :mod:`ketameta.report`: the Markdown report;
- :mod:`ketameta.cli`: the ``ketameta`` command used by the Snakemake rules.

Imports are lazy so that ``ketameta --help`` stays fast.
"""

__version__ = "0.1.0"
