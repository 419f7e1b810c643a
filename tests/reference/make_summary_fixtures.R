#!/usr/bin/env Rscript
# -----------------------------------------------------------------------------
# make_summary_fixtures.R -- metafor / stats reference for the report's summary
# of findings (src/ketameta/summary.py).
#
# What it makes: tests/reference/fixtures/summary.json with, for every
# comparative analysis (OR) of config/config.yaml that results/tables/effects.csv
# holds:
#   inputs  the per-study counts used (treatment and control events / n after
#           dose arms were combined, as in effects.csv), and which are included
#           in the OR/RR (double-zero studies are not: drop00 = TRUE)
#   or, rr  rma(escalc(measure), method = "REML", test = "z") and predict():
#           back-transformed estimate, CI and prediction interval
#   plo     the same for the treatment arms' logit proportions (all studies)
#   acr     median control-arm proportion of the included studies, the
#           corresponding treatment risk from the OR (Cochrane Handbook
#           14.1.5.1) at the estimate and CI bounds
#   ois     power.prop.test(p1 = acr, p2 = 1.25 * acr (0.75 * acr for harms,
#           whose favourable direction is lower), power = 0.8,
#           sig.level = 0.05, tol = 1e-12)$n, unrounded, per arm
# plus power.prop.test n for a grid of control rates and relative changes
# (pairs whose p2 would reach 1 are left out).
#
# How to rerun (from the repository root, after the workflow has written
# results/tables/effects.csv):
#   apt-get install -y r-base-core r-cran-metafor r-cran-jsonlite
#   Rscript tests/reference/make_summary_fixtures.R
# Generated with R 4.2.2 / metafor 3.8-1 (Debian bookworm).
# -----------------------------------------------------------------------------
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

eff <- read.csv("results/tables/effects.csv", stringsAsFactors = FALSE)
analyses <- c("response_24h", "response_d7", "response_d28", "remission_24h", "remission_d28",
              "remission_w4", "dissociation_rr", "bp_increase_rr", "nausea_rr")

bt_fit <- function(yi, vi, transf) {
  fit <- rma(yi, vi, method = "REML", test = "z",
             control = list(threshold = 1e-12, maxiter = 10000))
  p <- predict(fit)
  list(estimate = transf(p$pred), ci_low = transf(p$ci.lb), ci_high = transf(p$ci.ub),
       pi_low = transf(p$pi.lb), pi_high = transf(p$pi.ub), k = fit$k, tau2 = fit$tau2)
}

risk <- function(acr, or) acr * or / (1 - acr + acr * or)

out <- list(generated_with = list(R = R.version.string,
                                  metafor = as.character(packageVersion("metafor"))),
            analyses = list(), ois_grid = list())
for (a in analyses) {
  d <- eff[eff$analysis == a, ]
  inc <- d$included == "True"
  di <- d[inc, ]
  es <- lapply(c(OR = "OR", RR = "RR"), function(m)
    escalc(measure = m, ai = di$events_treat, n1i = di$n_treat,
           ci = di$events_ctrl, n2i = di$n_ctrl))
  or <- bt_fit(es$OR$yi, es$OR$vi, exp)
  rr <- bt_fit(es$RR$yi, es$RR$vi, exp)
  pl <- escalc(measure = "PLO", xi = d$events_treat, ni = d$n_treat)
  plo <- bt_fit(pl$yi, pl$vi, transf.ilogit)
  acr <- median(di$events_ctrl / di$n_ctrl)
  # the change in the direction of benefit: harms (favourable: lower in config.yaml) fall
  lower <- a %in% c("dissociation_rr", "bp_increase_rr", "nausea_rr")
  ois <- power.prop.test(p1 = acr, p2 = (if (lower) 0.75 else 1.25) * acr, power = 0.8,
                         sig.level = 0.05, tol = 1e-12)$n
  out$analyses[[a]] <- list(
    # I(): one-trial analyses stay vectors in the JSON
    inputs = list(study_id = I(d$study_id), included = I(inc),
                  events_treat = I(d$events_treat), n_treat = I(d$n_treat),
                  events_ctrl = I(d$events_ctrl), n_ctrl = I(d$n_ctrl)),
    or = or, rr = rr, plo = plo,
    acr = acr,
    treat_risk = c(risk(acr, or$estimate), risk(acr, or$ci_low), risk(acr, or$ci_high)),
    ois_per_arm = ois)
}
for (p1 in c(0.05, 0.17, 0.3, 0.5, 0.7)) {
  for (change in c(0.25, -0.25, 0.5)) {
    if (p1 * (1 + change) >= 1) next  # no proportion to detect (the package gives NaN)
    n <- power.prop.test(p1 = p1, p2 = p1 * (1 + change), power = 0.8, sig.level = 0.05,
                         tol = 1e-12)$n
    out$ois_grid[[length(out$ois_grid) + 1]] <- list(p1 = p1, change = change, n = n)
  }
}
dir.create("tests/reference/fixtures", showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/fixtures/summary.json")
cat("wrote tests/reference/fixtures/summary.json\n")
