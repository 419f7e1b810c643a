#!/usr/bin/env Rscript
# -----------------------------------------------------------------------------
# make_replication_fixtures.R -- reference for ketameta.replication, with metafor.
#
# What it makes: tests/reference/fixtures/replication.json. For the published result of
# config/replications.yaml (Marchi et al. 2022, depression SMD), from the numbers in
# data/raw/replications.csv and data/raw/arms.csv:
#   review_revman   Hedges' g with RevMan 5's correction and variance (Deeks & Higgins 2010:
#                   g = d (1 - 3/(4N - 9)), var = N/(n1 n2) + g^2/(2(N - 3.94))), written out here
#                   by hand, pooled by rma(method = "DL")
#   review_escalc   the same trials with metafor's escalc(measure = "SMD") and rma(method = "DL")
#   mixed_revman    as review_revman, with Ochs-Ross 2020 replaced by our data (data/raw/arms.csv:
#                   ochsross2020_transform3, depression_change at d28)
#   ours_revman     our Ochs-Ross 2020 alone (RevMan g, DL: k = 1)
#   ours_reml       our Ochs-Ross 2020 alone, escalc SMD and rma(method = "REML")
# How to rerun (from the repository root):
#   apt-get install -y r-base-core r-cran-metafor r-cran-jsonlite
#   Rscript tests/reference/make_replication_fixtures.R
# Generated with R 4.2.2 / metafor 3.8-1. Numbers: 17 significant digits.
# -----------------------------------------------------------------------------
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
rep <- read.csv(file.path("data", "raw", "replications.csv"), stringsAsFactors = FALSE)
rep <- rep[rep$replication == "marchi2022_depression", ]
trials <- unique(rep$trial)
side <- function(role, col) sapply(trials, function(t) rep[rep$trial == t & rep$role == role, col])
d <- data.frame(trial = trials,
                m1 = side("treatment", "mean"), sd1 = side("treatment", "sd"), n1 = side("treatment", "n"),
                m2 = side("control", "mean"), sd2 = side("control", "sd"), n2 = side("control", "n"),
                stringsAsFactors = FALSE)
arms <- read.csv(file.path("data", "raw", "arms.csv"), stringsAsFactors = FALSE)
ox <- arms[arms$study_id == "ochsross2020_transform3" & arms$outcome == "depression_change" &
           arms$timepoint == "d28", ]
ours <- data.frame(trial = "Ochs-Ross et al. 2020",
                   m1 = ox$mean[ox$role == "treatment"], sd1 = ox$sd[ox$role == "treatment"],
                   n1 = ox$n[ox$role == "treatment"], m2 = ox$mean[ox$role == "control"],
                   sd2 = ox$sd[ox$role == "control"], n2 = ox$n[ox$role == "control"])
revman <- function(x) {
  N <- x$n1 + x$n2
  sp <- sqrt(((x$n1 - 1) * x$sd1^2 + (x$n2 - 1) * x$sd2^2) / (N - 2))
  g <- (x$m1 - x$m2) / sp * (1 - 3 / (4 * N - 9))
  data.frame(yi = g, vi = N / (x$n1 * x$n2) + g^2 / (2 * (N - 3.94)))
}
fit_json <- function(fit) lapply(list(estimate = fit$b[1], ci_low = fit$ci.lb, ci_high = fit$ci.ub,
                                      tau2 = fit$tau2, k = fit$k), function(v) sprintf("%.17g", v))
mixed <- d
mixed[mixed$trial == ours$trial, names(ours)] <- ours
es <- function(x) escalc(measure = "SMD", m1i = m1, sd1i = sd1, n1i = n1, m2i = m2, sd2i = sd2,
                         n2i = n2, data = x)
out <- list(
  meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
  review_revman = fit_json(with(revman(d), rma(yi, vi, method = "DL"))),
  review_escalc = fit_json(with(es(d), rma(yi, vi, method = "DL"))),
  mixed_revman = fit_json(with(revman(mixed), rma(yi, vi, method = "DL"))),
  ours_revman = fit_json(with(revman(ours), rma(yi, vi, method = "DL"))),
  ours_reml = fit_json(with(es(ours), rma(yi, vi, method = "REML")))
)
txt <- toJSON(out, auto_unbox = TRUE, pretty = TRUE)
txt <- gsub("\"(-?[0-9]+(\\.[0-9]+)?(e[-+]?[0-9]+)?)\"", "\\1", txt)  # %.17g strings to numbers
writeLines(txt, file.path("tests", "reference", "fixtures", "replication.json"))
cat("wrote tests/reference/fixtures/replication.json\n")
