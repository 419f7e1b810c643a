#!/usr/bin/env Rscript
# -----------------------------------------------------------------------------
# make_timecourse_fixtures.R -- metafor / clubSandwich reference for the time
# course (timecourse.csv, src/ketameta/timecourse.py), from the raw data on its
# own path.
#
# What it makes: tests/reference/fixtures/timecourse.json. For the outcomes
# response and remission of data/raw/arms.csv (all trials; rows of confidence
# low left out; a trial's dose arms summed into one treatment arm, Cochrane
# Handbook 6.5.2.10), at every timepoint with a place on the time axis (hours:
# 40min, Nh, dN, wN, dAtoB = midpoint):
#   per_timepoint  timepoints with k >= 2: rma(escalc("OR", add = 1/2,
#                  to = "only0", drop00 = TRUE), method = "REML") and the
#                  treatment and control arms' rma(escalc("PLO"), "REML")
#   multilevel     for phi in 0.9, 0.5, 0.99: V = vcalc(vi, cluster = study,
#                  time1 = days, phi = phi); rma.mv(yi, V, mods = ~ factor(tp)
#                  - 1, random = ~ 1 | study/tp, method = "REML")
#   trend          the same V and random effects, mods = ~ log(hours / 24)
#                  (intercept: the log OR at 24 h; slope per log-unit of time),
#                  and robust(fit, cluster = study, clubSandwich = TRUE) (CR2
#                  needs more trials than coefficients, so not for the model
#                  above)
#
# How to rerun (from the repository root):
#   apt-get install -y r-base-core r-cran-metafor r-cran-clubsandwich r-cran-jsonlite
#   Rscript tests/reference/make_timecourse_fixtures.R
# Generated with R 4.2.2 / metafor 3.8-1 / clubSandwich (Debian bookworm).
# -----------------------------------------------------------------------------
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})
arms <- read.csv("data/raw/arms.csv", stringsAsFactors = FALSE, na.strings = "")
arms <- arms[is.na(arms$confidence) | arms$confidence != "low", ]
hours <- function(tp) {
  if (grepl("^[0-9]+min$", tp)) return(as.numeric(sub("min", "", tp)) / 60)
  if (grepl("^[0-9]+h$", tp)) return(as.numeric(sub("h", "", tp)))
  m <- regmatches(tp, regexec("^d([0-9]+)to([0-9]+)$", tp))[[1]]
  if (length(m)) return(24 * (as.numeric(m[2]) + as.numeric(m[3])) / 2)
  if (grepl("^d[0-9]+$", tp)) return(24 * as.numeric(sub("d", "", tp)))
  if (grepl("^w[0-9]+$", tp)) return(24 * 7 * as.numeric(sub("w", "", tp)))
  if (grepl("^m[0-9]+$", tp)) return(24 * 30 * as.numeric(sub("m", "", tp)))  # month = 30 days
  NA
}
num <- function(x) if (length(x) == 1 && is.finite(x)) x else NULL
vec <- function(x) I(unname(as.numeric(x)))
out <- list()
for (o in c("response", "remission")) {
  x <- arms[arms$outcome == o, ]
  x$hours <- sapply(x$timepoint, hours)
  x <- x[!is.na(x$hours), ]
  keys <- unique(x[, c("study_id", "timepoint", "hours")])
  d <- do.call(rbind, lapply(seq_len(nrow(keys)), function(i) {
    s <- x[x$study_id == keys$study_id[i] & x$timepoint == keys$timepoint[i], ]
    tr <- s[s$role == "treatment", ]; ct <- s[s$role == "control", ]
    if (nrow(tr) == 0 || nrow(ct) == 0) return(NULL)
    data.frame(study = keys$study_id[i], tp = keys$timepoint[i], hours = keys$hours[i],
               ai = sum(tr$events), n1i = sum(tr$n), ci = sum(ct$events), n2i = sum(ct$n))
  }))
  d <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = d,
              add = 1/2, to = "only0", drop00 = TRUE)
  d <- d[is.finite(d$yi), ]
  d <- d[order(d$hours, d$study), ]
  per <- list()
  # (a plain data frame: metafor's "[.escalc" evaluates an index in the data's scope, where a
  # loop variable named like a column would be the column)
  dd <- as.data.frame(d)
  for (this_tp in unique(dd$tp)) {
    s <- dd[dd$tp == this_tp, ]
    if (nrow(s) < 2) next
    f <- rma(yi, vi, data = s, method = "REML", control = list(threshold = 1e-12, maxiter = 10000))
    p <- predict(f)
    entry <- list(k = nrow(s), estimate = num(as.numeric(f$beta)), ci_low = num(f$ci.lb),
                  ci_high = num(f$ci.ub), pi_low = num(p$pi.lb), pi_high = num(p$pi.ub),
                  tau2 = num(f$tau2))
    for (arm in c("treatment", "control")) {
      e <- if (arm == "treatment") escalc("PLO", xi = s$ai, ni = s$n1i) else
        escalc("PLO", xi = s$ci, ni = s$n2i)
      g <- rma(yi, vi, data = e, method = "REML",
               control = list(threshold = 1e-12, maxiter = 10000))
      entry[[paste0("plo_", arm)]] <- list(estimate = num(as.numeric(g$beta)),
                                          ci_low = num(g$ci.lb), ci_high = num(g$ci.ub))
    }
    per[[this_tp]] <- entry
  }
  ml <- list()
  d$days <- d$hours / 24
  d$tp <- factor(d$tp, levels = unique(d$tp))
  for (phi in c(0.9, 0.5, 0.99)) {
    V <- vcalc(vi, cluster = study, time1 = days, phi = phi, data = d, checkpd = FALSE)
    # the best of three optimisers, so the reference is the optimum, not a stopping point
    fit <- function(mods) {
      best <- NULL
      for (opt in c("nlminb", "optim", "BFGS")) {
        ctrl <- if (opt == "BFGS") list(optimizer = "optim", optmethod = "BFGS") else
          list(optimizer = opt)
        f <- tryCatch(rma.mv(yi, V, mods = mods, random = ~ 1 | study/tp, data = d,
                             method = "REML", control = ctrl), error = function(e) NULL)
        if (!is.null(f) && (is.null(best) || logLik(f) > logLik(best))) best <- f
      }
      best
    }
    f <- fit(~ tp - 1)
    g <- fit(~ I(log(hours / 24)))
    r <- robust(g, cluster = d$study, clubSandwich = TRUE)
    ml[[as.character(phi)]] <- list(
      coef = I(sub("^tp", "", rownames(f$beta))), estimate = vec(f$beta), se = vec(f$se),
      ci_low = vec(f$ci.lb), ci_high = vec(f$ci.ub), sigma2 = vec(f$sigma2),
      loglik = as.numeric(logLik(f)),
      trend = list(estimate = vec(g$beta), se = vec(g$se), ci_low = vec(g$ci.lb),
                   ci_high = vec(g$ci.ub), sigma2 = vec(g$sigma2),
                   loglik = as.numeric(logLik(g)), cr2_se = vec(r$se), cr2_df = vec(r$dfs),
                   cr2_ci_low = vec(r$ci.lb), cr2_ci_high = vec(r$ci.ub)))
  }
  out[[o]] <- list(k = nrow(d), studies = I(unique(d$study)), per_timepoint = per,
                   multilevel = ml)
}
writeLines(toJSON(list(generated_with = paste("R", getRversion(), "metafor",
                                              packageVersion("metafor"), "clubSandwich",
                                              packageVersion("clubSandwich")),
                       outcomes = out), auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  na = "null"),
           "tests/reference/fixtures/timecourse.json")
cat("wrote tests/reference/fixtures/timecourse.json\n")
