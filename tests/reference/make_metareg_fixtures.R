#!/usr/bin/env Rscript
# -----------------------------------------------------------------------------
# make_metareg_fixtures.R -- reference fixtures for ketameta.metareg, computed
# with R's metafor.
#
# What it makes: tests/reference/fixtures/metareg.json with
#   designs     model matrix (dummy coding, term names) of each moderator model
#   metareg     rma(yi, vi, mods=~..., method=M, test=T) for FE, DL, REML, PM,
#               ML, HE, SJ, EB x test "z"/"knha" on 17 moderator models over
#               four data sets: coefficients (names, estimate, se, z/t, p, CI),
#               QM (omnibus test), QE (residual heterogeneity), tau2 and its
#               Q-profile CI (confint), I2, H2, R2
#   subgroup    subgroup analyses (per-level rma fits with separate tau2, and
#               the three tests of subgroup differences) for four groupings,
#               methods REML and DL x test z/knha
#   edge_cases  saturated model (k = p), constant moderator, single-level
#               factor, no-intercept model with a continuous moderator
#
# The file starts with a "meta" object (R and package versions, no date, so a
# rerun gives a byte-identical file) and embeds its input data ("datasets",
# "inputs"), so the Python tests need nothing else. Every result carries the
# exact R expression that produced it ("call"), evaluated in an environment
# where `dat` is built by the `data_call` of the input it names.
#
# Numbers: doubles are written with sprintf("%.17g") (exact round trip to an
# IEEE double); NA, NaN and +/-Inf are written as null. The JSON writer and the
# run() helper are copied from tests/reference/make_fixtures.R.
#
# How to rerun (from the repository root; reads data/raw/studies.csv):
#   apt-get install -y r-base-core r-cran-metafor r-cran-metadat r-cran-jsonlite
#   Rscript tests/reference/make_metareg_fixtures.R
# Generated with R 4.2.2 / metafor 3.8-1 / metadat 1.2-0 (Debian bookworm).
# -----------------------------------------------------------------------------

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference", "fixtures")
if (!dir.exists(file.path("tests", "reference")) || !file.exists(file.path("data", "raw", "studies.csv"))) {
  stop("run this script from the repository root: Rscript tests/reference/make_metareg_fixtures.R")
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

# Named list -> object, unnamed list -> array, atomic of length 1 -> scalar,
# atomic of other length (or wrapped in I()) -> array.
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

# numeric scalar or null
num <- function(x) {
  if (is.null(x) || length(x) == 0) return(NA_real_)
  x <- unname(x)
  if (is.logical(x)) x <- as.numeric(x)
  as.numeric(x[1])
}
numv <- function(x) I(as.numeric(unname(x)))
intv <- function(x) I(as.integer(unname(x)))
chrv <- function(x) I(as.character(unname(x)))

# Evaluate an R expression given as a string; capture value, error, warnings.
run <- function(call, envir) {
  warns <- character(0)
  value <- tryCatch(
    withCallingHandlers(
      eval(parse(text = call), envir = envir),
      warning = function(w) {
        warns <<- c(warns, conditionMessage(w))
        invokeRestart("muffleWarning")
      }),
    error = function(e) structure(conditionMessage(e), class = "run_error"))
  if (inherits(value, "run_error")) {
    list(ok = FALSE, value = NULL, error = as.character(unclass(value)), warnings = I(warns))
  } else {
    list(ok = TRUE, value = value, error = NA_character_, warnings = I(warns))
  }
}

# ----------------------------------------------------------------------------
# Data sets (study-level covariates kept beside the effect-size inputs)
# ----------------------------------------------------------------------------
ds_code <- list(
  bcg = paste(
    "bcg <- data.frame(study = paste(dat.bcg$author, dat.bcg$year),",
    "ai = dat.bcg$tpos, bi = dat.bcg$tneg, ci = dat.bcg$cpos, di = dat.bcg$cneg,",
    "ablat = dat.bcg$ablat, year = dat.bcg$year, alloc = dat.bcg$alloc)"),
  bangert = paste(
    "bangert <- with(dat.bangertdrowns2004, data.frame(study = paste(author, year),",
    "yi = as.numeric(yi), vi = as.numeric(vi), length = length, grade = as.character(grade),",
    "feedback = feedback, meta = meta))"),
  debruin = paste(
    "debruin <- with(dat.debruin2009, data.frame(study = author, xi = xi, ni = ni,",
    "scq = scq, ethnicity = ethnicity, patients = patients))"),
  ketamine_24h = paste(
    "ketamine_24h <- data.frame(study = c('lii2023', 'lapidus2014', 'murrough2013', 'daly2018', 'canuso2018'),",
    "ai = c(12L, 8L, 30L, 12L, 19L), n1i = c(20L, 18L, 47L, 34L, 35L),",
    "ci = c(10L, 1L, 7L, 1L, 9L), n2i = c(20L, 18L, 25L, 33L, 31L));",
    "ketamine_24h$bi <- ketamine_24h$n1i - ketamine_24h$ai;",
    "ketamine_24h$di <- ketamine_24h$n2i - ketamine_24h$ci;",
    "studies <- read.csv(file.path('data', 'raw', 'studies.csv'), stringsAsFactors = FALSE);",
    "ix <- match(ketamine_24h$study, studies$study_id);",
    "ketamine_24h$drug <- studies$drug[ix]; ketamine_24h$year <- studies$year[ix];",
    "ketamine_24h$route <- studies$route[ix];",
    "ketamine_24h$comparator_type <- studies$comparator_type[ix]")
)
for (nm in names(ds_code)) eval(parse(text = ds_code[[nm]]), envir = globalenv())
if (anyNA(ketamine_24h$drug)) stop("ketamine_24h: study ids not found in data/raw/studies.csv")

ds_desc <- list(
  bcg = "metadat::dat.bcg, BCG vaccine trials (13); ai=tpos, bi=tneg, ci=cpos, di=cneg; covariates ablat (absolute latitude), year, alloc (allocation: alternate/random/systematic)",
  bangert = "metadat::dat.bangertdrowns2004, writing-to-learn interventions (48 studies), standardised mean differences yi/vi as published in the data set; covariates length (weeks), grade (school grade 1-4, coded as character so it is a factor), feedback (0/1, one NA), meta (0/1)",
  debruin = "metadat::dat.debruin2009, proportion of HAART-adherent patients under standard care (xi of ni, 13 studies); covariates scq (standard care quality), ethnicity, patients (starting/continuing)",
  ketamine_24h = "response at 24 h (lii2023: day 1), ketamine/esketamine vs control, counts as in make_fixtures.R; covariates drug, year, route, comparator_type joined from data/raw/studies.csv by study_id"
)

covariate_cols <- list(bcg = c("ablat", "year", "alloc"),
                       bangert = c("length", "grade", "feedback", "meta"),
                       debruin = c("scq", "ethnicity", "patients"),
                       ketamine_24h = c("drug", "year", "route", "comparator_type"))

col_json <- function(x) if (is.character(x)) chrv(x) else if (is.integer(x)) intv(x) else numv(x)

datasets_json <- sapply(names(ds_code), function(nm) {
  d <- get(nm)
  cols <- setdiff(names(d), "study")
  c(list(description = ds_desc[[nm]], construction = ds_code[[nm]], study = chrv(d$study)),
    sapply(cols, function(cn) col_json(d[[cn]]), simplify = FALSE))
}, simplify = FALSE)

# ----------------------------------------------------------------------------
# Inputs: effect sizes + covariates
# ----------------------------------------------------------------------------
input_defs <- list(
  "bcg:OR" = list(dataset = "bcg", measure = "OR",
                  data_call = 'dat <- escalc(measure="OR", ai=ai, bi=bi, ci=ci, di=di, data=bcg)'),
  "bangert:SMD" = list(dataset = "bangert", measure = "SMD",
                       data_call = "dat <- bangert"),
  "debruin:PLO" = list(dataset = "debruin", measure = "PLO",
                       data_call = 'dat <- escalc(measure="PLO", xi=xi, ni=ni, data=debruin)'),
  "ketamine_24h:OR" = list(dataset = "ketamine_24h", measure = "OR",
                           data_call = 'dat <- escalc(measure="OR", ai=ai, bi=bi, ci=ci, di=di, data=ketamine_24h)')
)
input_env <- list()
inputs_json <- list()
for (id in names(input_defs)) {
  def <- input_defs[[id]]
  env <- new.env(parent = globalenv())
  eval(parse(text = def$data_call), envir = env)
  dat <- get("dat", envir = env)
  input_env[[id]] <- env
  inputs_json[[id]] <- list(
    dataset = def$dataset, measure = def$measure, data_call = def$data_call,
    k = nrow(dat), study = chrv(dat$study), yi = numv(dat$yi), vi = numv(dat$vi),
    covariates = sapply(covariate_cols[[def$dataset]], function(cn) col_json(dat[[cn]]),
                        simplify = FALSE))
}

methods <- c("FE", "DL", "REML", "PM", "ML", "HE", "SJ", "EB")
tests <- c("z", "knha")
# Tight convergence control: metafor's defaults (threshold 1e-5, uniroot tol ~1.2e-4) would make
# the reference itself uncertain at the level the Python tests check.
ctrl <- "control=list(threshold=1e-12, tol=1e-12, maxiter=10000)"

rma_call <- function(mods, method, test, data = "dat") {
  if (method == "FE") {
    sprintf('rma(yi, vi, mods=%s, data=%s, method="FE", test="%s")', mods, data, test)
  } else {
    sprintf('rma(yi, vi, mods=%s, data=%s, method="%s", test="%s", %s)', mods, data, method, test, ctrl)
  }
}

# every field of a fitted meta-regression that the Python side compares
fit_fields <- function(v, test) {
  list(k = v$k, p = v$p, coef_names = chrv(rownames(v$beta)), coef = numv(v$beta),
       se = numv(v$se), zval = numv(v$zval), pval = numv(v$pval),
       ci_low = numv(v$ci.lb), ci_high = numv(v$ci.ub),
       stat_dist = if (test == "knha") "t" else "z",
       df = if (test == "knha") num(v$dfs) else NA_real_,
       qm = num(v$QM), qm_df1 = num(v$QMdf[1]), qm_df2 = num(v$QMdf[2]),
       qm_dist = if (test == "knha") "F" else "chisq", qm_p = num(v$QMp), btt = intv(v$btt),
       qe = num(v$QE), qe_df = v$k - v$p, qe_p = num(v$QEp),
       tau2 = num(v$tau2), i2 = num(v$I2), h2 = num(v$H2), r2 = num(v$R2), s2w = num(v$s2w),
       int_only = v$int.only, int_incl = v$int.incl)
}

add_confint <- function(rec, method, env) {
  if (method == "FE") {
    rec$confint_call <- NA_character_
    rec$confint_ok <- NA
    rec$confint_error <- NA_character_
    rec$tau2_ci_low <- NA_real_
    rec$tau2_ci_high <- NA_real_
    return(rec)
  }
  call <- "confint(fit, control=list(tol=1e-12))"
  cr <- run(call, env)
  rec$confint_call <- call
  rec$confint_ok <- cr$ok
  rec$confint_error <- cr$error
  if (cr$ok) {
    rnd <- cr$value$random
    rec$tau2_ci_low <- num(rnd[1, "ci.lb"])
    rec$tau2_ci_high <- num(rnd[1, "ci.ub"])
  } else {
    rec$tau2_ci_low <- NA_real_
    rec$tau2_ci_high <- NA_real_
  }
  rec
}

# ============================================================================
# Meta-regressions
# ============================================================================
# (input, formula, covariate columns in term order, intercept)
mr_specs <- list(
  list("bcg:OR", "~ablat", "ablat", TRUE),
  list("bcg:OR", "~year", "year", TRUE),
  list("bcg:OR", "~ablat + year", c("ablat", "year"), TRUE),
  list("bcg:OR", "~alloc", "alloc", TRUE),
  list("bcg:OR", "~ablat + alloc", c("ablat", "alloc"), TRUE),
  list("bcg:OR", "~alloc - 1", "alloc", FALSE),
  list("bangert:SMD", "~length", "length", TRUE),
  list("bangert:SMD", "~grade", "grade", TRUE),
  list("bangert:SMD", "~length + meta", c("length", "meta"), TRUE),
  list("bangert:SMD", "~feedback", "feedback", TRUE),
  list("debruin:PLO", "~scq", "scq", TRUE),
  list("debruin:PLO", "~ethnicity", "ethnicity", TRUE),
  list("debruin:PLO", "~patients + scq", c("patients", "scq"), TRUE),
  list("ketamine_24h:OR", "~drug", "drug", TRUE),
  list("ketamine_24h:OR", "~year", "year", TRUE),
  list("ketamine_24h:OR", "~drug + year", c("drug", "year"), TRUE),
  list("ketamine_24h:OR", "~route", "route", TRUE)
)

metareg <- list()
designs <- list()
for (s in mr_specs) {
  id_in <- s[[1]]; mods <- s[[2]]; cols <- s[[3]]; intercept <- s[[4]]
  env <- input_env[[id_in]]
  # the model matrix metafor uses (after omitting studies with missing covariates), row by row
  call <- sprintf('rma(yi, vi, mods=%s, data=dat, method="FE")$X', mods)
  r <- run(call, env)
  designs[[length(designs) + 1]] <- list(
    input = id_in, mods = mods, columns = chrv(cols), intercept = intercept, call = call,
    ok = r$ok, error = r$error, coef_names = chrv(colnames(r$value)),
    rows = lapply(seq_len(nrow(r$value)), function(i) numv(r$value[i, ])),
    study_index = intv(match(rownames(r$value), rownames(get("dat", envir = env)))))
  for (method in methods) for (test in tests) {
    call <- rma_call(mods, method, test)
    r <- run(call, env)
    rec <- list(id = sprintf("%s|%s|%s|%s", id_in, mods, method, test),
                input = id_in, mods = mods, columns = chrv(cols), intercept = intercept,
                method = method, test = test,
                data_call = input_defs[[id_in]]$data_call, call = call,
                ok = r$ok, error = r$error, warnings = r$warnings)
    if (r$ok) {
      assign("fit", r$value, envir = env)
      rec <- c(rec, fit_fields(r$value, test))
      rec <- add_confint(rec, method, env)
    }
    metareg[[length(metareg) + 1]] <- rec
  }
}

# ============================================================================
# Subgroup analyses
# ============================================================================
sg_specs <- list(
  list("bcg:OR", "alloc"),
  list("bangert:SMD", "grade"),
  list("debruin:PLO", "patients"),
  list("ketamine_24h:OR", "drug"),   # ketamine 3 studies, esketamine 2
  list("ketamine_24h:OR", "comparator_type")   # midazolam (active_placebo) has a single study
)
sg_methods <- c("REML", "DL")

level_fit <- function(v) {
  list(k = v$k, estimate = num(v$beta), se = num(v$se), zval = num(v$zval), pval = num(v$pval),
       ci_low = num(v$ci.lb), ci_high = num(v$ci.ub), test_used = v$test,
       df = if (v$test == "knha") num(v$dfs) else NA_real_,
       tau2 = num(v$tau2), i2 = num(v$I2), h2 = num(v$H2),
       q = num(v$QE), q_df = v$k - v$p, q_p = num(v$QEp))
}

qm_fields <- function(v) {
  list(k = v$k, p = v$p, coef_names = chrv(rownames(v$beta)), coef = numv(v$beta),
       qm = num(v$QM), qm_df1 = num(v$QMdf[1]), qm_df2 = num(v$QMdf[2]),
       qm_dist = if (v$test == "knha") "F" else "chisq", qm_p = num(v$QMp),
       qe = num(v$QE), qe_df = v$k - v$p, qe_p = num(v$QEp), tau2 = num(v$tau2))
}

subgroup <- list()
for (s in sg_specs) {
  id_in <- s[[1]]; by <- s[[2]]
  env <- input_env[[id_in]]
  dat <- get("dat", envir = env)
  lvls <- sort(unique(as.character(dat[[by]])))
  for (method in sg_methods) for (test in tests) {
    fits <- list()
    est <- se <- rep(NA_real_, length(lvls))
    for (i in seq_along(lvls)) {
      call <- sprintf('rma(yi, vi, data=dat, subset=(%s=="%s"), method="%s", test="%s", %s)',
                      by, lvls[i], method, test, ctrl)
      r <- run(call, env)
      rec <- list(level = lvls[i], call = call, ok = r$ok, error = r$error, warnings = r$warnings)
      if (r$ok) {
        assign("fit", r$value, envir = env)
        rec <- c(rec, level_fit(r$value))
        rec <- add_confint(rec, method, env)
        est[i] <- num(r$value$beta)
        se[i] <- num(r$value$se)
      }
      fits[[length(fits) + 1]] <- rec
    }
    # (a) separate tau2 per subgroup: FE meta-analysis of the subgroup estimates (RevMan's test)
    sep <- data.frame(level = lvls, est = est, se = se)
    assign("sep", sep, envir = env)
    call_a <- 'rma(est, sei=se, mods=~level, data=sep, method="FE")'
    ra <- run(call_a, env)
    call_a0 <- 'rma(est, sei=se, data=sep, method="FE")'
    ra0 <- run(call_a0, env)
    t_sep <- list(call = call_a, ok = ra$ok, error = ra$error, warnings = ra$warnings,
                  est = numv(est), se = numv(se))
    if (ra$ok) t_sep <- c(t_sep, qm_fields(ra$value))
    t_sep$check_call <- call_a0
    t_sep$check_qe <- if (ra0$ok) num(ra0$value$QE) else NA_real_
    # (b) fixed-effect model with the subgroup as moderator
    call_b <- sprintf('rma(yi, vi, mods=~%s, data=dat, method="FE")', by)
    rb <- run(call_b, env)
    t_fix <- list(call = call_b, ok = rb$ok, error = rb$error, warnings = rb$warnings)
    if (rb$ok) t_fix <- c(t_fix, qm_fields(rb$value))
    # (c) mixed-effects model with the subgroup as moderator (common tau2)
    call_c <- sprintf('rma(yi, vi, mods=~%s, data=dat, method="%s", test="%s", %s)',
                      by, method, test, ctrl)
    rc <- run(call_c, env)
    t_com <- list(call = call_c, ok = rc$ok, error = rc$error, warnings = rc$warnings)
    if (rc$ok) t_com <- c(t_com, qm_fields(rc$value))
    subgroup[[length(subgroup) + 1]] <- list(
      id = sprintf("%s|%s|%s|%s", id_in, by, method, test),
      input = id_in, by = by, method = method, test = test,
      data_call = input_defs[[id_in]]$data_call, levels = chrv(lvls),
      fits = fits,
      tests = list(separate = t_sep, fixed = t_fix, common_tau2 = t_com))
  }
}

# ============================================================================
# Edge cases
# ============================================================================
edge_specs <- list(
  list(id = "saturated_REML", kind = "k = p", input = "bcg:OR", rows = 1:3,
       columns = c("ablat", "year"), intercept = TRUE, method = "REML", test = "z",
       call = rma_call("~ablat + year", "REML", "z", data = "dat[1:3, ]")),
  list(id = "saturated_FE", kind = "k = p", input = "bcg:OR", rows = 1:3,
       columns = c("ablat", "year"), intercept = TRUE, method = "FE", test = "z",
       call = rma_call("~ablat + year", "FE", "z", data = "dat[1:3, ]")),
  list(id = "too_few_REML", kind = "k < p", input = "ketamine_24h:OR", rows = c(1L, 4L),
       columns = c("drug", "year"), intercept = TRUE, method = "REML", test = "z",
       call = rma_call("~drug + year", "REML", "z", data = "dat[c(1, 4), ]")),
  list(id = "constant_moderator", kind = "constant moderator", input = "bcg:OR", rows = NULL,
       columns = "const", intercept = TRUE, method = "REML", test = "z", add = list(const = 1),
       call = rma_call("~const", "REML", "z", data = "transform(dat, const=1)")),
  list(id = "single_level_factor", kind = "constant moderator", input = "bcg:OR", rows = NULL,
       columns = "grp", intercept = TRUE, method = "REML", test = "z", add = list(grp = "a"),
       call = rma_call("~grp", "REML", "z", data = "transform(dat, grp='a')")),
  list(id = "no_intercept_continuous", kind = "no intercept, continuous moderator",
       input = "bcg:OR", rows = NULL, columns = "ablat", intercept = FALSE, method = "FE",
       test = "z", call = rma_call("~ablat - 1", "FE", "z"))
)
edge_cases <- list()
for (e in edge_specs) {
  env <- input_env[[e$input]]
  r <- run(e$call, env)
  rec <- list(id = e$id, kind = e$kind, input = e$input,
              rows = if (is.null(e$rows)) NULL else intv(e$rows),
              columns = chrv(e$columns), intercept = e$intercept,
              add = if (is.null(e$add)) structure(list(), names = character(0)) else e$add,
              method = e$method, test = e$test,
              data_call = input_defs[[e$input]]$data_call, call = e$call,
              ok = r$ok, error = r$error, warnings = r$warnings)
  if (r$ok) {
    assign("fit", r$value, envir = env)
    rec <- c(rec, fit_fields(r$value, e$test))
  }
  if (e$id == "no_intercept_continuous") {
    # metafor 3.8 computes QE (and tau2) from mean-centred yi, which differs from the
    # residual sum of squares when the model has no intercept; record the textbook value too.
    call <- "with(dat, { w <- 1/vi; b <- sum(w*ablat*yi)/sum(w*ablat^2); sum(w*(yi - b*ablat)^2) })"
    rq <- run(call, env)
    rec$qe_uncentred_call <- call
    rec$qe_uncentred <- if (rq$ok) num(rq$value) else NA_real_
  }
  edge_cases[[length(edge_cases) + 1]] <- rec
}

# ============================================================================
# Write
# ============================================================================
n_fail <- sum(!vapply(metareg, function(r) r$ok, TRUE))
out <- list(
  meta = list(
    file = "metareg.json: metafor::rma() meta-regressions (mods), subgroup analyses and edge cases",
    generator = "tests/reference/make_metareg_fixtures.R",
    rerun = "Rscript tests/reference/make_metareg_fixtures.R  (from the repository root)",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    number_format = "doubles written with sprintf('%.17g') (exact round trip); NA/NaN/Inf written as null",
    methods = I(methods), tests = I(tests),
    notes = I(c(
      "designs[]: model matrix X of each moderator model (rma()$X), study_index = 1-based rows of dat kept after omitting missing covariates",
      "inputs[id]: yi/vi and the study covariates; `dat` in every call is built by inputs[id].data_call (data frames from datasets[*].construction)",
      "random-effects fits use control=list(threshold=1e-12, tol=1e-12, maxiter=10000); confint uses control=list(tol=1e-12) (Q-profile CI of tau2, first row of confint(fit)$random)",
      "zval is z for test='z' and t (df = k - p) for test='knha'; qm is chi-square on qm_df1 df for 'z' and F(qm_df1, qm_df2) for 'knha' (metafor's QM/QMdf/QMp); btt are the 1-based coefficients QM tests",
      "qe is the residual heterogeneity test QE on qe_df = k - p df; i2/h2 use s2 = (k-p)/tr(P); r2 is metafor's pseudo R2 (null when the model has no intercept)",
      "ok = false means rma() raised an error (message in `error`); warnings are listed in `warnings`",
      "subgroup: fits[] are rma() per level (separate tau2); tests.separate is QM of the FE model of the level estimates (check_qe: QE of the intercept-only FE model, identical); tests.fixed is QM of the FE model with the subgroup as moderator; tests.common_tau2 is QM of the mixed model with the same method and test",
      "metafor sets test='z' for a k = 1 level (fits[].test_used) and tau2 = 0",
      "edge_cases: rows (1-based) subset dat; add gives constant columns added to dat; no_intercept_continuous also has qe_uncentred (residual Q from yi, not mean-centred yi)",
      sprintf("%d of %d meta-regression calls failed in metafor (see their `error`)", n_fail, length(metareg))))),
  datasets = datasets_json,
  inputs = inputs_json,
  designs = designs,
  metareg = metareg,
  subgroup = subgroup,
  edge_cases = edge_cases)
write_json_file(out, "metareg.json")
cat(sprintf("metareg records: %d (%d failed); subgroup records: %d; edge cases: %d\n",
            length(metareg), n_fail, length(subgroup), length(edge_cases)))
