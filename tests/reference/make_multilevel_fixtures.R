#!/usr/bin/env Rscript
# -----------------------------------------------------------------------------
# make_multilevel_fixtures.R -- reference fixtures for ketameta.multilevel,
# computed with R's metafor (rma.mv, vcalc, robust) and clubSandwich.
#
# What it makes: tests/reference/fixtures/multilevel.json with
#   datasets  the inputs of every fit (yi, vi or the full V, the variables of
#             the random-effects formulas), so the Python tests need nothing else
#   fits      rma.mv(yi, V, mods, random, struct, method, test) on
#             (a) dat.konstantopoulos2011: ~ 1 | district/school (REML, ML,
#                 REML + test "t", REML with a year moderator) and the
#                 equivalent ~ school | district, struct "CS";
#             (b) dat.berkey1998 (V = bldiag of the v1i/v2i blocks, as on its
#                 help page): mods = ~ outcome - 1, ~ outcome | trial with
#                 struct "UN" (REML, ML, REML + test "t"), "CS" and "HCS";
#             (c) the ketamine response time course (multilevel_ketamine.csv,
#                 V = vcalc(vi, cluster = study_id, time1 = hours, phi = 0.5)):
#                 ~ 1 | study_id (REML, ML, REML with mods = ~ log(hours)), plus
#                 the CAR model ~ hours | study_id at fixed rho (a profile; see
#                 "ketamine CAR" below) and metafor's own free-rho CAR fit;
#             (d) dat.ishak2007 (long format, V = vcalc(vi, cluster = study,
#                 time1 = time, phi = 0.97) as on its help page): mods =
#                 ~ factor(time) - 1 with ~ time | study "AR", "HAR", "UN" (REML)
#                 and "HCS" (ML), and
#                 ~ months | study "CAR" (months = 3, 6, 12, 24 for the four
#                 occasions; the last is "12+ months" in the data, 24 is our
#                 choice, made only to have unequal spacing), REML and ML.
#   robust    robust(fit, cluster = ..., clubSandwich = TRUE), i.e.
#             clubSandwich::vcovCR(type = "CR2") + coef_test(test =
#             "Satterthwaite") + conf_int: konstantopoulos (cluster district),
#             berkey (cluster trial), ishak AR (cluster study)
#   vcalc     vcalc() outputs: time1/phi (hours and days), obs/rho, type/obs,
#             unsorted clusters
#
# Convergence: every model is fitted with nlminb at rel.tol = 1e-12 (metafor's
# default is 1e-10; nlminb may then stop with "false convergence", as it cannot
# meet the tolerance with finite-difference gradients), with optim's BFGS at
# reltol = 1e-15 and at metafor's default control; the fit with the largest
# log-likelihood is kept and its control recorded ("control"), so that the
# reference is the optimum and not an artefact of a stopping rule. "default_control"
# records, per fit, the largest relative difference between this and a fit at
# metafor's default control (up to ~3e-6 here).
#
# ketamine CAR: only two studies (daly2018, lii2023) report response at 2 or
# more timepoints, 9 effects, and their timepoints are 22 h or more apart, so
# rho^|dt| is ~0 for rho = 0.5 (0.5^22 = 2.4e-7): the REML likelihood is flat
# there and nlminb stops at its start value rho = 0.5. The likelihood rises
# monotonically towards rho = 1, where CAR becomes a random study intercept:
# the CAR model is not identifiable on these data. The profile (fixed rho) is
# recorded and tested; the model fitted to the data is the random intercept.
#
# How to rerun (from the repository root):
#   apt-get install -y r-base-core r-cran-metafor r-cran-metadat \
#     r-cran-clubsandwich r-cran-jsonlite
#   # the ketamine input (written by ketameta itself, from data/raw):
#   .venv/bin/python -c "from ketameta.data import load_dataset; \
#     from ketameta.timepoints import timecourse_effects; \
#     timecourse_effects(load_dataset('data/raw/studies.csv', 'data/raw/arms.csv')).to_csv( \
#     'tests/reference/fixtures/multilevel_ketamine.csv', index=False, float_format='%.17g')"
#   Rscript tests/reference/make_multilevel_fixtures.R
# Numbers are written with 17 significant digits (exact round trip); NA -> null.
# -----------------------------------------------------------------------------

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(clubSandwich)
  library(jsonlite)
})

if (!file.exists(file.path("tests", "reference", "fixtures", "multilevel_ketamine.csv")))
  stop("run from the repository root after writing tests/reference/fixtures/multilevel_ketamine.csv")

out_path <- file.path("tests", "reference", "fixtures", "multilevel.json")
CONTROL <- list(rel.tol = 1e-12, iter.max = 10000, eval.max = 10000)

num <- function(x) as.numeric(unname(x))
mat_rows <- function(m) {
  m <- as.matrix(m)
  lapply(seq_len(nrow(m)), function(i) I(num(m[i, ])))
}

# ----------------------------------------------------------------------------
# Data sets
# ----------------------------------------------------------------------------
kon <- dat.konstantopoulos2011
kon$district <- as.character(kon$district)
kon$school <- as.character(kon$school)

ber <- dat.berkey1998
ber$outcome <- as.character(ber$outcome)
ber_V <- bldiag(lapply(split(ber[, c("v1i", "v2i")], ber$trial), as.matrix))

ket <- read.csv(file.path("tests", "reference", "fixtures", "multilevel_ketamine.csv"),
                stringsAsFactors = FALSE)
ket_V <- vcalc(vi, cluster = study_id, time1 = hours, phi = 0.5, data = ket)
ket_es <- escalc(measure = "OR", ai = events_treat, n1i = n_treat, ci = events_ctrl,
                 n2i = n_ctrl, data = ket)

ish <- dat.ishak2007
ish <- reshape(ish, direction = "long", idvar = "study", v.names = c("yi", "vi"),
               varying = list(c(2, 4, 6, 8), c(3, 5, 7, 9)))
ish <- ish[order(ish$study, ish$time), ]
ish <- ish[!is.na(ish$yi), ]
rownames(ish) <- NULL
ish$months <- c(3, 6, 12, 24)[ish$time]
ish_V <- vcalc(vi, cluster = study, time1 = time, phi = 0.97, data = ish)

datasets <- list(
  konstantopoulos2011 = list(
    description = "metadat::dat.konstantopoulos2011: 56 school-level SMDs in 11 districts",
    k = nrow(kon), yi = I(num(kon$yi)), vi = I(num(kon$vi)),
    district = I(kon$district), school = I(kon$school), year = I(num(kon$year))),
  berkey1998 = list(
    description = paste("metadat::dat.berkey1998: 5 trials x 2 outcomes (PD, AL);",
                        "V = bldiag(lapply(split(dat[, c('v1i', 'v2i')], dat$trial), as.matrix))"),
    k = nrow(ber), yi = I(num(ber$yi)), vi = I(num(ber$vi)), V = mat_rows(ber_V),
    trial = I(as.character(ber$trial)), outcome = I(ber$outcome)),
  ketamine = list(
    description = paste("response log odds ratios of the studies in data/raw/arms.csv with",
                        "response at >= 2 timepoints (multilevel_ketamine.csv, written by",
                        "ketameta.timepoints.timecourse_effects);",
                        "V = vcalc(vi, cluster = study_id, time1 = hours, phi = 0.5)"),
    k = nrow(ket), yi = I(num(ket$yi)), vi = I(num(ket$vi)), V = mat_rows(ket_V),
    study_id = I(ket$study_id), timepoint = I(ket$timepoint), hours = I(num(ket$hours)),
    escalc_yi = I(num(ket_es$yi)), escalc_vi = I(num(ket_es$vi))),
  ishak2007 = list(
    description = paste("metadat::dat.ishak2007 in long format (help page);",
                        "V = vcalc(vi, cluster = study, time1 = time, phi = 0.97);",
                        "months = c(3, 6, 12, 24)[time] (24 for '12+ months' is our choice)"),
    k = nrow(ish), yi = I(num(ish$yi)), vi = I(num(ish$vi)), V = mat_rows(ish_V),
    study = I(as.character(ish$study)), time = I(num(ish$time)), months = I(num(ish$months)))
)

frames <- list(konstantopoulos2011 = kon, berkey1998 = ber, ketamine = ket, ishak2007 = ish)
vmats <- list(konstantopoulos2011 = NULL, berkey1998 = ber_V, ketamine = ket_V, ishak2007 = ish_V)

# ----------------------------------------------------------------------------
# Fits
# ----------------------------------------------------------------------------
fit_defs <- list(
  list(id = "kon_nested_reml", data = "konstantopoulos2011", mods = "~ 1",
       random = "~ 1 | district/school", struct = "CS", method = "REML", test = "z"),
  list(id = "kon_nested_ml", data = "konstantopoulos2011", mods = "~ 1",
       random = "~ 1 | district/school", struct = "CS", method = "ML", test = "z"),
  list(id = "kon_nested_reml_t", data = "konstantopoulos2011", mods = "~ 1",
       random = "~ 1 | district/school", struct = "CS", method = "REML", test = "t"),
  list(id = "kon_nested_year_reml", data = "konstantopoulos2011", mods = "~ I(year - 1990)",
       random = "~ 1 | district/school", struct = "CS", method = "REML", test = "z"),
  list(id = "kon_cs_reml", data = "konstantopoulos2011", mods = "~ 1",
       random = "~ school | district", struct = "CS", method = "REML", test = "z"),
  list(id = "ber_un_reml", data = "berkey1998", mods = "~ outcome - 1",
       random = "~ outcome | trial", struct = "UN", method = "REML", test = "z"),
  list(id = "ber_un_ml", data = "berkey1998", mods = "~ outcome - 1",
       random = "~ outcome | trial", struct = "UN", method = "ML", test = "z"),
  list(id = "ber_un_reml_t", data = "berkey1998", mods = "~ outcome - 1",
       random = "~ outcome | trial", struct = "UN", method = "REML", test = "t"),
  list(id = "ber_cs_reml", data = "berkey1998", mods = "~ outcome - 1",
       random = "~ outcome | trial", struct = "CS", method = "REML", test = "z"),
  list(id = "ber_hcs_reml", data = "berkey1998", mods = "~ outcome - 1",
       random = "~ outcome | trial", struct = "HCS", method = "REML", test = "z"),
  list(id = "ket_int_reml", data = "ketamine", mods = "~ 1",
       random = "~ 1 | study_id", struct = "CS", method = "REML", test = "z"),
  list(id = "ket_int_ml", data = "ketamine", mods = "~ 1",
       random = "~ 1 | study_id", struct = "CS", method = "ML", test = "z"),
  list(id = "ket_int_loghours_reml", data = "ketamine", mods = "~ log(hours)",
       random = "~ 1 | study_id", struct = "CS", method = "REML", test = "z"),
  list(id = "ish_ar_reml", data = "ishak2007", mods = "~ factor(time) - 1",
       random = "~ time | study", struct = "AR", method = "REML", test = "z"),
  list(id = "ish_har_reml", data = "ishak2007", mods = "~ factor(time) - 1",
       random = "~ time | study", struct = "HAR", method = "REML", test = "z"),
  list(id = "ish_un_reml", data = "ishak2007", mods = "~ factor(time) - 1",
       random = "~ time | study", struct = "UN", method = "REML", test = "z"),
  list(id = "ish_hcs_ml", data = "ishak2007", mods = "~ factor(time) - 1",
       random = "~ time | study", struct = "HCS", method = "ML", test = "z"),
  list(id = "ish_car_reml", data = "ishak2007", mods = "~ factor(time) - 1",
       random = "~ months | study", struct = "CAR", method = "REML", test = "z"),
  list(id = "ish_car_ml", data = "ishak2007", mods = "~ factor(time) - 1",
       random = "~ months | study", struct = "CAR", method = "ML", test = "z")
)

fit_one <- function(def, control = CONTROL, extra = "") {
  d <- frames[[def$data]]
  V <- if (is.null(vmats[[def$data]])) d$vi else vmats[[def$data]]
  struct <- if (grepl("~ 1 |", def$random, fixed = TRUE)) "" else sprintf(", struct = '%s'", def$struct)
  call <- sprintf("rma.mv(yi, V, mods = %s, random = %s%s, method = '%s', test = '%s', data = d%s, control = control)",
                  def$mods, def$random, struct, def$method, def$test, extra)
  res <- tryCatch(eval(parse(text = call)), error = function(e) {
    message(def$id, ": ", conditionMessage(e)); NULL })
  list(res = res, call = call)
}

summarise_fit <- function(res) {
  fs <- res$fit.stats
  col <- if (res$method == "REML") "REML" else "ML"
  list(
    coef_names = I(rownames(res$beta)), beta = I(num(res$beta)), se = I(num(res$se)),
    stat = I(num(res$zval)), pval = I(num(res$pval)), ci_lb = I(num(res$ci.lb)),
    ci_ub = I(num(res$ci.ub)), ddf = I(num(res$ddf)),
    sigma2 = if (res$withS) I(num(res$sigma2)) else NULL,
    tau2 = if (res$withG) I(num(res$tau2)) else NULL,
    rho = if (res$withG) I(num(res$rho)) else NULL,
    loglik = num(fs["ll", col]), loglik_ml = num(fs["ll", "ML"]), loglik_reml = num(fs["ll", "REML"]),
    deviance = num(fs["dev", col]), aic = num(fs["AIC", col]), bic = num(fs["BIC", col]),
    aicc = num(fs["AICc", col]), qe = num(res$QE), qe_df = res$k - res$p, qe_p = num(res$QEp),
    k = res$k, p = res$p, parms = res$parms, X = mat_rows(res$X))
}

rel_diff <- function(a, b) {
  a <- unlist(a); b <- unlist(b)
  if (length(a) == 0) return(0)
  max(abs(a - b) / pmax(1, abs(b)), na.rm = TRUE)
}

# tightest rel.tol at which nlminb reports convergence (it can report "false
# convergence" when asked for more than its finite-difference gradients give)
CONTROLS <- list(
  nlminb_1e12 = CONTROL,
  optim_bfgs_1e15 = list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-15, maxit = 10000),
  metafor_default = list())
fit_tight <- function(def, extra = "") {
  best <- NULL
  for (nm in names(CONTROLS)) {
    f <- fit_one(def, control = CONTROLS[[nm]], extra = extra)
    if (is.null(f$res)) next  # (nlminb's "did not achieve convergence" above: expected)
    if (is.null(best) || logLik(f$res) > logLik(best$res) + 1e-13)
      best <- c(f, list(control = nm))
  }
  if (is.null(best)) stop("no convergence: ", def$id)
  best
}

fits <- list()
default_control <- list()
fitted <- list()
for (def in fit_defs) {
  f <- fit_tight(def)
  fitted[[def$id]] <- f$res
  s <- summarise_fit(f$res)
  fits[[def$id]] <- c(list(dataset = def$data, mods = def$mods, random = def$random,
                           struct = def$struct, method = def$method, test = def$test,
                           call = f$call, control = f$control), s)
  d0 <- fit_one(def, control = list())$res
  default_control[[def$id]] <- rel_diff(
    list(d0$beta, d0$se, d0$sigma2, d0$tau2, d0$rho, d0$fit.stats["ll", ]),
    list(f$res$beta, f$res$se, f$res$sigma2, f$res$tau2, f$res$rho, f$res$fit.stats["ll", ]))
}

# ketamine CAR: the REML profile over fixed rho, and metafor's free-rho fit
ket_car_def <- list(data = "ketamine", mods = "~ 1", random = "~ hours | study_id",
                    struct = "CAR", method = "REML", test = "z")
profile <- lapply(c(0.01, 0.5, 0.9, 0.99, 0.999, 0.9999), function(r) {
  f <- fit_tight(ket_car_def, extra = sprintf(", rho = %s", format(r, digits = 17)))
  c(list(rho_fixed = r, call = f$call, control = f$control), summarise_fit(f$res))
})
car_free <- fit_one(ket_car_def, control = list())
ket_car <- list(
  note = paste("CAR on the ketamine time course is not identifiable: the REML log-likelihood",
               "rises monotonically towards rho = 1 (random study intercept); metafor stops",
               "at its start value rho = 0.5, where the likelihood is flat."),
  profile = profile,
  metafor_free = c(list(call = car_free$call, control = "metafor default"),
                   summarise_fit(car_free$res)),
  intercept_loglik = fits[["ket_int_reml"]]$loglik)

# ----------------------------------------------------------------------------
# Cluster-robust CR2 (metafor robust(..., clubSandwich = TRUE))
# ----------------------------------------------------------------------------
robust_defs <- list(
  list(id = "kon_nested_reml_cr2", fit = "kon_nested_reml", cluster = "district"),
  list(id = "kon_nested_year_reml_cr2", fit = "kon_nested_year_reml", cluster = "district"),
  list(id = "ber_un_reml_cr2", fit = "ber_un_reml", cluster = "trial"),
  list(id = "ish_ar_reml_cr2", fit = "ish_ar_reml", cluster = "study")
)
robust_out <- list()
for (def in robust_defs) {
  res <- fitted[[def$fit]]
  d <- frames[[fits[[def$fit]]$dataset]]
  rob <- robust(res, cluster = d[[def$cluster]], clubSandwich = TRUE)
  vc <- vcovCR(res, cluster = d[[def$cluster]], type = "CR2")
  ct <- coef_test(res, vcov = vc, test = "Satterthwaite")
  robust_out[[def$id]] <- list(
    fit = def$fit, cluster = def$cluster,
    call = sprintf("robust(%s, cluster = %s, clubSandwich = TRUE)", def$fit, def$cluster),
    beta = I(num(rob$beta)), se = I(num(rob$se)), tval = I(num(rob$zval)),
    df = I(num(rob$ddf)), pval = I(num(rob$pval)), ci_lb = I(num(rob$ci.lb)),
    ci_ub = I(num(rob$ci.ub)), vcov = mat_rows(rob$vb),
    coef_test_df = I(num(ct$df_Satt)), coef_test_se = I(num(ct$SE)),
    n_clusters = length(unique(d[[def$cluster]])))
}

# ----------------------------------------------------------------------------
# vcalc
# ----------------------------------------------------------------------------
toy <- data.frame(
  cluster = c("b", "a", "b", "a", "c", "b", "a", "c"),
  vi = c(0.10, 0.20, 0.15, 0.05, 0.30, 0.12, 0.25, 0.08),
  time = c(1, 0, 3, 2, 1, 4.5, 5, 2),
  obs = c("x", "x", "y", "y", "x", "z", "z", "y"),
  type = c("p", "p", "q", "p", "q", "q", "p", "p"),
  stringsAsFactors = FALSE)
vcalc_defs <- list(
  list(id = "ketamine_hours", data = "ket", args = list(cluster = "study_id", time1 = "hours", phi = 0.5),
       call = "vcalc(vi, cluster = study_id, time1 = hours, phi = 0.5, data = ket)"),
  list(id = "ketamine_days", data = "ket", args = list(cluster = "study_id", time1 = "days", phi = 0.5),
       call = "vcalc(vi, cluster = study_id, time1 = hours / 24, phi = 0.5, data = ket)"),
  list(id = "ishak_time", data = "ish", args = list(cluster = "study", time1 = "time", phi = 0.97),
       call = "vcalc(vi, cluster = study, time1 = time, phi = 0.97, data = ish)"),
  list(id = "toy_obs", data = "toy", args = list(cluster = "cluster", obs = "obs", rho = 0.6),
       call = "vcalc(vi, cluster = cluster, obs = obs, rho = 0.6, data = toy)"),
  list(id = "toy_time_obs", data = "toy", args = list(cluster = "cluster", obs = "obs", rho = 0.6,
                                                      time1 = "time", phi = 0.8),
       call = "vcalc(vi, cluster = cluster, obs = obs, rho = 0.6, time1 = time, phi = 0.8, data = toy)"),
  list(id = "toy_type_obs", data = "toy", args = list(cluster = "cluster", obs = "obs", type = "type",
                                                      rho = I(c(0.5, 0.3))),
       call = "vcalc(vi, cluster = cluster, obs = obs, type = type, rho = c(0.5, 0.3), data = toy)"),
  list(id = "toy_type", data = "toy", args = list(cluster = "cluster", type = "type", rho = 0.7),
       call = "vcalc(vi, cluster = cluster, type = type, rho = 0.7, data = toy)")
)
vcalc_out <- list()
for (def in vcalc_defs) {
  warns <- character(0)
  V <- withCallingHandlers(eval(parse(text = def$call)), warning = function(w) {
    warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  d <- get(def$data)
  if (def$data == "ket") d$days <- d$hours / 24
  cols <- unlist(def$args[sapply(def$args, is.character)])
  inputs <- list(vi = I(num(d$vi)))
  for (nm in names(cols)) {
    v <- d[[cols[[nm]]]]
    inputs[[nm]] <- if (is.numeric(v)) I(num(v)) else I(as.character(v))
  }
  vcalc_out[[def$id]] <- list(
    call = def$call, inputs = inputs,
    rho = if (is.null(def$args$rho)) NULL else I(num(def$args$rho)),
    phi = if (is.null(def$args$phi)) NULL else def$args$phi,
    warnings = I(warns), V = mat_rows(V))
}

# ----------------------------------------------------------------------------
# Write
# ----------------------------------------------------------------------------
out <- list(
  meta = list(
    generator = "tests/reference/make_multilevel_fixtures.R",
    R = R.version.string,
    metafor = as.character(packageVersion("metafor")),
    metadat = as.character(packageVersion("metadat")),
    clubSandwich = as.character(packageVersion("clubSandwich")),
    controls = CONTROLS),
  datasets = datasets,
  fits = fits,
  default_control = default_control,
  ketamine_car = ket_car,
  robust = robust_out,
  vcalc = vcalc_out)

writeLines(toJSON(out, auto_unbox = TRUE, digits = I(17), na = "null", null = "null",
                  pretty = TRUE), out_path, useBytes = TRUE)
cat(sprintf("wrote %s (%d bytes)\n", out_path, file.size(out_path)))
cat("largest relative difference between tight and default control per fit:\n")
print(unlist(default_control))
