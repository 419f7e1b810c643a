#!/usr/bin/env Rscript
# -----------------------------------------------------------------------------
# make_degenerate_fixtures.R -- metafor reference for the degenerate SYNTHETIC
# test data set tests/data/degenerate/ (hand-made edge cases, not trial data;
# see tests/data/degenerate/README.md).
#
# What it makes: tests/reference/fixtures/degenerate.json with, for every
# analysis of tests/data/degenerate/config.yaml, overall and per level of the
# analysis' subgroup column:
#   inputs   the 2x2 counts (PLO: the treatment arm) and escalc yi/vi
#   fits     rma(yi, vi, method = M, test = T) for FE, REML, DL, PM, ML, HE,
#            SJ, EB x z/knha, with predict() and confint() (Q-profile)
#   rma_mh   rma.mh (OR, RR, RD), rma_peto (OR), rma_glmm (OR: UM.FS; PLO)
# Every record keeps the exact R call, whether it ran (ok), the error message
# and every warning and message, because on these inputs metafor itself often
# refuses (k = 1 GLMM), changes the test (knha -> z at k = 1) or warns (lme4
# convergence).
#
# Data: read from tests/data/degenerate/{studies,arms}.csv and config.yaml, so
# the reference always follows the test data; the counts used are embedded in
# "inputs". Treatment arms of a study are summed (the package's default
# multiarm = combine; here every study has one treatment and one control arm).
# escalc uses metafor's defaults add = 1/2, to = "only0", and drop00 = TRUE for
# OR and RR (the config's drop_double_zero: true), as the package does.
#
# Numbers: doubles are written with sprintf("%.17g") (exact round trip); NA,
# NaN and +/-Inf are written as null; zval_is_inf records an infinite z. The
# JSON writer and run() are copied from tests/reference/make_fixtures.R (run()
# here also collects messages).
#
# How to rerun (from the repository root):
#   apt-get install -y r-base-core r-cran-metafor r-cran-jsonlite r-cran-yaml r-cran-lme4
#   Rscript tests/reference/make_degenerate_fixtures.R
# Generated with R 4.2.2 / metafor 3.8-1 / lme4 1.1-31 (Debian bookworm).
# -----------------------------------------------------------------------------

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
  library(yaml)
})

out_dir <- file.path("tests", "reference", "fixtures")
data_dir <- file.path("tests", "data", "degenerate")
if (!dir.exists(file.path("tests", "reference")) || !dir.exists(data_dir)) {
  stop("run this script from the repository root: Rscript tests/reference/make_degenerate_fixtures.R")
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

# ----------------------------------------------------------------------------
# Minimal JSON writer with full double precision (as make_fixtures.R)
# ----------------------------------------------------------------------------
json_str <- function(s) as.character(jsonlite::toJSON(as.character(s), auto_unbox = TRUE))

json_atom <- function(x) {
  if (is.factor(x)) x <- as.character(x)
  if (is.logical(x)) return(ifelse(is.na(x), "null", ifelse(x, "true", "false")))
  if (is.integer(x)) return(ifelse(is.na(x), "null", as.character(x)))
  if (is.numeric(x)) {
    return(vapply(x, function(v) {
      if (!is.finite(v)) return("null")
      if (v == 0) return("0")
      sprintf("%.17g", v)
    }, ""))
  }
  if (is.character(x)) return(ifelse(is.na(x), "null", vapply(x, json_str, "")))
  stop("cannot serialise object of class ", class(x)[1])
}

to_json <- function(x, indent = 0) {
  pad  <- strrep("  ", indent + 1)
  pad0 <- strrep("  ", indent)
  if (is.null(x)) return("null")
  if (is.list(x) && !is.data.frame(x)) {
    nms <- names(x)
    if (length(x) == 0) return(if (is.null(nms)) "[]" else "{}")
    if (!is.null(nms)) {
      items <- vapply(seq_along(x), function(i)
        paste0(pad, json_str(nms[i]), ": ", to_json(x[[i]], indent + 1)), "")
      return(paste0("{\n", paste(items, collapse = ",\n"), "\n", pad0, "}"))
    }
    items <- vapply(x, function(v) paste0(pad, to_json(v, indent + 1)), "")
    return(paste0("[\n", paste(items, collapse = ",\n"), "\n", pad0, "]"))
  }
  as_array <- inherits(x, "AsIs") || length(x) != 1
  x <- unclass(x)
  vals <- json_atom(x)
  if (as_array) paste0("[", paste(vals, collapse = ", "), "]") else vals
}

write_json_file <- function(obj, name) {
  path <- file.path(out_dir, name)
  con <- file(path, open = "w", encoding = "UTF-8")
  writeLines(to_json(obj), con)
  close(con)
  cat(sprintf("wrote %s (%d bytes)\n", path, file.size(path)))
}

num <- function(x) {
  if (is.null(x) || length(x) == 0) return(NA_real_)
  x <- unname(x)
  if (is.logical(x)) x <- as.numeric(x)
  as.numeric(x[1])
}
numv <- function(x) I(as.numeric(unname(x)))
intv <- function(x) I(as.integer(unname(x)))
chrv <- function(x) I(as.character(unname(x)))

# Evaluate an R expression given as a string; capture value, error, warnings and messages.
run <- function(call, envir) {
  warns <- character(0)
  msgs <- character(0)
  value <- tryCatch(
    withCallingHandlers(
      eval(parse(text = call), envir = envir),
      warning = function(w) {
        warns <<- c(warns, conditionMessage(w))
        invokeRestart("muffleWarning")
      },
      message = function(m) {
        msgs <<- c(msgs, trimws(conditionMessage(m)))
        invokeRestart("muffleMessage")
      }),
    error = function(e) structure(conditionMessage(e), class = "run_error"))
  if (inherits(value, "run_error")) {
    list(ok = FALSE, value = NULL, error = as.character(unclass(value)), warnings = I(warns),
         messages = I(msgs))
  } else {
    list(ok = TRUE, value = value, error = NA_character_, warnings = I(warns), messages = I(msgs))
  }
}

hdr <- function(r, call, ...) c(list(...), list(call = call, ok = r$ok, error = r$error,
                                                warnings = r$warnings, messages = r$messages))

# ----------------------------------------------------------------------------
# Data: the analyses of the degenerate config, overall and per subgroup level
# ----------------------------------------------------------------------------
config <- yaml::read_yaml(file.path(data_dir, "config.yaml"))
studies <- read.csv(file.path(data_dir, "studies.csv"), stringsAsFactors = FALSE,
                    colClasses = "character")
arms <- read.csv(file.path(data_dir, "arms.csv"), stringsAsFactors = FALSE)
stopifnot(all(config$effects$zero_cell_add == 0.5), config$effects$zero_cell_to == "only0",
          isTRUE(config$effects$drop_double_zero))

counts_for <- function(spec) {
  rows <- arms[arms$outcome == spec$outcome & arms$timepoint == spec$timepoint, ]
  ids <- sort(unique(rows$study_id))
  d <- do.call(rbind, lapply(ids, function(s) {
    t <- rows[rows$study_id == s & rows$role == "treatment", ]
    c <- rows[rows$study_id == s & rows$role == "control", ]
    data.frame(study = s, ai = sum(t$events), n1i = sum(t$n),
               ci = sum(c$events), n2i = sum(c$n), stringsAsFactors = FALSE)
  }))
  d$bi <- d$n1i - d$ai
  d$di <- d$n2i - d$ci
  sub <- spec$subgroup
  d$subgroup <- if (is.null(sub)) "" else studies[[sub]][match(d$study, studies$study_id)]
  d
}

escalc_call <- function(measure) {
  if (measure == "PLO") return('escalc(measure="PLO", xi=ai, ni=n1i, data=d)')
  drop <- if (measure %in% c("OR", "RR")) ", drop00=TRUE" else ""
  sprintf('escalc(measure="%s", ai=ai, bi=bi, ci=ci, di=di, data=d%s)', measure, drop)
}

methods <- c("FE", "REML", "DL", "PM", "ML", "HE", "SJ", "EB")
tests <- c("z", "knha")
rma_control <- "control=list(threshold=1e-12, tol=1e-12, maxiter=10000)"

inputs <- list()
fits <- list()
mh <- list()
peto <- list()
glmm <- list()

for (name in names(config$analyses)) {
  spec <- config$analyses[[name]]
  all <- counts_for(spec)
  groups <- list(list(label = "", rows = seq_len(nrow(all))))
  if (!is.null(spec$subgroup)) {
    lv <- sort(unique(all$subgroup))
    if (length(lv) > 1) {
      for (l in lv) groups[[length(groups) + 1]] <-
        list(label = paste0(spec$subgroup, "=", l), rows = which(all$subgroup == l))
    }
  }
  for (g in groups) {
    id <- paste0(name, "|", g$label)
    env <- new.env(parent = globalenv())
    assign("d", all[g$rows, ], envir = env)
    data_call <- paste0("dat <- ", escalc_call(spec$measure))
    eval(parse(text = data_call), envir = env)
    d <- get("d", envir = env)
    dat <- get("dat", envir = env)
    inputs[[id]] <- list(analysis = name, subgroup = g$label, measure = spec$measure,
                         data_call = data_call, study = chrv(d$study),
                         ai = intv(d$ai), n1i = intv(d$n1i), ci = intv(d$ci), n2i = intv(d$n2i),
                         yi = numv(dat$yi), vi = numv(dat$vi), k = sum(!is.na(dat$yi)))

    for (method in methods) for (test in tests) {
      call <- if (method == "FE") sprintf('rma(yi, vi, data=dat, method="FE", test="%s")', test) else
        sprintf('rma(yi, vi, data=dat, method="%s", test="%s", %s)', method, test, rma_control)
      r <- run(call, env)
      rec <- hdr(r, call, input = id, method = method, test = test)
      if (r$ok) {
        fit <- r$value
        assign("fit", fit, envir = env)
        rec <- c(rec, list(
          k = fit$k, test_used = fit$test,
          estimate = num(fit$beta), se = num(fit$se), zval = num(fit$zval),
          zval_is_inf = is.infinite(num(fit$zval)),
          df = if (fit$test %in% c("knha", "t")) num(fit$dfs) else NA_real_,
          pval = num(fit$pval), ci_low = num(fit$ci.lb), ci_high = num(fit$ci.ub),
          tau2 = num(fit$tau2), i2 = num(fit$I2), h2 = num(fit$H2),
          q = num(fit$QE), q_df = fit$k - fit$p, q_p = num(fit$QEp)))
        pr <- run("predict(fit)", env)
        rec$pi_low <- NA_real_
        rec$pi_high <- NA_real_
        if (pr$ok) {
          p <- pr$value
          rec$pi_low <- num(if (is.null(p$pi.lb)) p$ci.lb else p$pi.lb)
          rec$pi_high <- num(if (is.null(p$pi.ub)) p$ci.ub else p$pi.ub)
        }
        rec$predict_warnings <- pr$warnings
        rec$tau2_ci_low <- NA_real_
        rec$tau2_ci_high <- NA_real_
        rec$i2_ci_low <- NA_real_
        rec$i2_ci_high <- NA_real_
        if (method != "FE") {
          ccall <- "confint(fit, control=list(tol=1e-12))"
          cr <- run(ccall, env)
          rec$confint_call <- ccall
          rec$confint_ok <- cr$ok
          rec$confint_error <- cr$error
          rec$confint_warnings <- cr$warnings
          rec$confint_messages <- cr$messages
          if (cr$ok) {
            rnd <- cr$value$random
            rec$tau2_ci_low <- num(rnd["tau^2", "ci.lb"])
            rec$tau2_ci_high <- num(rnd["tau^2", "ci.ub"])
            rec$i2_ci_low <- num(rnd["I^2(%)", "ci.lb"])
            rec$i2_ci_high <- num(rnd["I^2(%)", "ci.ub"])
          }
        }
      }
      fits[[length(fits) + 1]] <- rec
    }

    if (spec$measure %in% c("OR", "RR", "RD")) {
      call <- sprintf('rma.mh(ai=ai, bi=bi, ci=ci, di=di, data=d, measure="%s")', spec$measure)
      r <- run(call, env)
      rec <- hdr(r, call, input = id, measure = spec$measure)
      if (r$ok) {
        v <- r$value
        rec <- c(rec, list(k = num(v$k), k_yi = num(v$k.yi), estimate = num(v$beta),
                           se = num(v$se), pval = num(v$pval), ci_low = num(v$ci.lb),
                           ci_high = num(v$ci.ub), i2 = num(v$I2), h2 = num(v$H2),
                           q = num(v$QE), q_p = num(v$QEp)))
      }
      mh[[length(mh) + 1]] <- rec
    }
    if (spec$measure == "OR") {
      call <- "rma.peto(ai=ai, bi=bi, ci=ci, di=di, data=d)"
      r <- run(call, env)
      rec <- hdr(r, call, input = id, measure = "PETO")
      if (r$ok) {
        v <- r$value
        rec <- c(rec, list(k = num(v$k), k_yi = num(v$k.yi), estimate = num(v$beta),
                           se = num(v$se), pval = num(v$pval), ci_low = num(v$ci.lb),
                           ci_high = num(v$ci.ub), i2 = num(v$I2), h2 = num(v$H2),
                           q = num(v$QE), q_p = num(v$QEp)))
      }
      peto[[length(peto) + 1]] <- rec
    }
    if (spec$measure %in% c("OR", "PLO")) {
      call <- if (spec$measure == "OR")
        'rma.glmm(measure="OR", ai=ai, bi=bi, ci=ci, di=di, data=d, model="UM.FS")' else
        'rma.glmm(measure="PLO", xi=ai, ni=n1i, data=d)'
      r <- run(call, env)
      rec <- hdr(r, call, input = id, measure = spec$measure, method = "ML")
      if (r$ok) {
        v <- r$value
        assign("gfit", v, envir = env)
        pr <- run("predict(gfit)", env)
        rec <- c(rec, list(k = num(v$k), estimate = num(v$beta), se = num(v$se),
                           pval = num(v$pval), ci_low = num(v$ci.lb), ci_high = num(v$ci.ub),
                           tau2 = num(v$tau2), i2 = num(v$I2), h2 = num(v$H2),
                           q = num(v$QE.Wld), q_p = num(v$QEp.Wld),
                           q_lrt = num(v$QE.LRT), q_lrt_p = num(v$QEp.LRT),
                           pi_low = if (pr$ok) num(pr$value$pi.lb) else NA_real_,
                           pi_high = if (pr$ok) num(pr$value$pi.ub) else NA_real_))
      }
      glmm[[length(glmm) + 1]] <- rec
    }
  }
}

fixture <- list(
  meta = list(
    file = "degenerate.json: metafor on the degenerate synthetic test data (tests/data/degenerate/)",
    generator = "tests/reference/make_degenerate_fixtures.R",
    rerun = "Rscript tests/reference/make_degenerate_fixtures.R  (from the repository root)",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    lme4_version = as.character(packageVersion("lme4")),
    number_format = "doubles written with sprintf('%.17g') (exact round trip); NA/NaN/Inf written as null",
    data = "SYNTHETIC test inputs constructed by hand (tests/data/degenerate/README.md), not trial data",
    notes = I(c(
      "input ids are '<analysis>|<subgroup>' ('' = all studies; else '<column>=<level>', levels of every study of the analysis)",
      "every call is evaluated in an environment holding `d` (the counts of the input) and `dat` (built by data_call); `fit`/`gfit` are the fitted model",
      "ok = false: the call raised an error (message in `error`); warnings and messages are kept verbatim",
      "test_used: metafor falls back from knha to z when k = 1 (with a warning)",
      "pi_low/pi_high: predict(fit); FE models have no PI, so the CI is recorded (as the package writes it)",
      "tau2/I2 CIs: confint(fit, control=list(tol=1e-12)) (Q-profile); null when confint fails (k = 1)",
      "rma_glmm q/q_p are the Wald test of heterogeneity (QE.Wld), q_lrt the likelihood-ratio test"))),
  inputs = inputs,
  fits = fits,
  rma_mh = mh,
  rma_peto = peto,
  rma_glmm = glmm)
write_json_file(fixture, "degenerate.json")
cat("done\n")
