#!/usr/bin/env Rscript
# -----------------------------------------------------------------------------
# make_safety_fixtures.R -- metafor reference for the harms table (safety.csv,
# src/ketameta/safety.py), computed from the raw data on its own path.
#
# What it makes: tests/reference/fixtures/safety.json. From data/raw/arms.csv
# and studies.csv it takes the harm outcomes of config/config.yaml's safety:
# section at timepoint treatment_phase in trials whose comparator_type is
# placebo or active_placebo, rows of confidence low left out; a trial's dose
# arms are summed into one treatment arm (Cochrane Handbook 6.5.2.10). Per
# outcome:
#   counts   per trial: events / n of the combined treatment arm and the control
#   mh       rma.mh(measure = "RR" / "RD") (no continuity correction in the
#            pooled estimate, metafor's default): estimate, se, CI, p, I2
#   reml     rma(escalc(measure, add = 1/2, to = "only0", drop00 = TRUE),
#            method = "REML", test = "z"), k >= 2 only
#
# How to rerun (from the repository root):
#   apt-get install -y r-base-core r-cran-metafor r-cran-jsonlite
#   Rscript tests/reference/make_safety_fixtures.R
# Generated with R 4.2.2 / metafor 3.8-1 (Debian bookworm).
# -----------------------------------------------------------------------------
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
arms <- read.csv("data/raw/arms.csv", stringsAsFactors = FALSE, na.strings = "")
studies <- read.csv("data/raw/studies.csv", stringsAsFactors = FALSE, na.strings = "")
outcomes <- c("ae_dissociation", "ae_bp_increase", "ae_nausea", "ae_dizziness",
              "ae_headache", "ae_vomiting", "discontinued_ae", "serious_ae")
keep <- studies$study_id[studies$comparator_type %in% c("placebo", "active_placebo")]
a <- arms[arms$timepoint == "treatment_phase" & arms$study_id %in% keep &
          (is.na(arms$confidence) | arms$confidence != "low"), ]
num <- function(x) if (is.finite(x)) x else NULL
fit_list <- function(res) list(
  estimate = num(as.numeric(res$beta)), se = num(res$se), ci_low = num(res$ci.lb),
  ci_high = num(res$ci.ub), pval = num(res$pval), i2 = num(res$I2), k = res$k)
out <- list()
for (o in outcomes) {
  x <- a[a$outcome == o, ]
  if (nrow(x) == 0) next
  ids <- sort(unique(x$study_id))
  tr <- x[x$role == "treatment", ]
  ct <- x[x$role == "control", ]
  ai <- sapply(ids, function(s) sum(tr$events[tr$study_id == s]))
  n1 <- sapply(ids, function(s) sum(tr$n[tr$study_id == s]))
  ci <- sapply(ids, function(s) sum(ct$events[ct$study_id == s]))
  n2 <- sapply(ids, function(s) sum(ct$n[ct$study_id == s]))
  entry <- list(studies = I(unname(ids)), ai = I(unname(ai)), n1i = I(unname(n1)),
                ci = I(unname(ci)), n2i = I(unname(n2)))
  for (m in c("RR", "RD")) {
    mh <- rma.mh(ai = ai, n1i = n1, ci = ci, n2i = n2, measure = m)
    entry[[paste0("mh_", m)]] <- fit_list(mh)
    if (length(ids) >= 2) {
      es <- escalc(measure = m, ai = ai, n1i = n1, ci = ci, n2i = n2,
                   add = 1/2, to = "only0", drop00 = TRUE)
      re <- rma(yi, vi, data = es, method = "REML", test = "z",
                control = list(threshold = 1e-12, maxiter = 10000))
      entry[[paste0("reml_", m)]] <- fit_list(re)
    }
  }
  out[[o]] <- entry
}
writeLines(toJSON(list(generated_with = paste("R", getRversion(), "metafor",
                                              packageVersion("metafor")),
                       outcomes = out), auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/fixtures/safety.json")
cat("wrote tests/reference/fixtures/safety.json\n")
