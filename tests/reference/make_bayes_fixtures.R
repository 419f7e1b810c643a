#!/usr/bin/env Rscript
# -----------------------------------------------------------------------------
# make_bayes_fixtures.R -- brute-force reference for ketameta.bayes_exact.
#
# Model (Bayesian normal-normal random-effects meta-analysis):
#   y_i | theta_i ~ N(theta_i, v_i),  theta_i | mu, tau ~ N(mu, tau^2),
#   mu ~ N(0, 10^2) (sd 10) or flat,  tau ~ one of the priors in `tau_priors`.
# The study effects theta_i are integrated out in closed form (y_i | mu, tau ~
# N(mu, v_i + tau^2), the model's definition); everything else is done by
# NESTED ADAPTIVE QUADRATURE of the two-dimensional joint density
#   p(mu, tau, y) = p(tau) p(mu) prod_i dnorm(y_i, mu, sqrt(v_i + tau^2))
# with stats::integrate (QUADPACK dqags/dqagi): for every tau the joint is
# integrated over mu with integrate(), and that function of tau is integrated
# over tau with integrate() again. Nothing here uses the conditional
# conjugacy of mu given tau that the Python code (ketameta.bayes_exact) relies
# on: the mu-integral is numerical, only centred at the mode of the mu-section
# (found with optimize()) and scaled by its numerical curvature so that
# dqagi's (-Inf, Inf) transformation sees a unit-width peak at 0.
#
#   posterior means / sds          ratios of nested integrals
#   posterior quantiles            uniroot() on the nested-integral CDF
#   P(mu > 0)                      nested integral over mu in (0, Inf)
#   predictive theta_new quantiles uniroot() on
#                                  E[pnorm((x - mu) / tau) | y] (nested integral)
#   shrunken theta_i mean / sd     nested integrals of E[theta_i | mu, tau, y_i]
#                                  and Var[theta_i | mu, tau, y_i]
#   log marginal likelihood        log of the nested integral of p(mu, tau, y)
#
# Tolerances: inner integrate() rel.tol = 1e-12 (abs.tol 1e-13 of the largest
# mu-section integral), outer rel.tol = 1e-11 (abs.tol 1e-14 of the normalising
# constant), uniroot() tol = 1e-12 (absolute, on the effect or tau scale).
#
# Data sets are read from tests/reference/fixtures/rma.json (written by
# make_fixtures.R): each input's data frame is rebuilt from its `construction`
# code and yi/vi recomputed with metafor::escalc via its `data_call`; the script
# stops if those differ from the yi/vi stored in rma.json.
#
# bayesmeta (Roever 2020) would be a second reference; it is recorded only if
# installed (it has no Debian package, r-cran-bayesmeta, in bookworm).
#
# Output: tests/reference/fixtures/bayes_exact.json; doubles written with
# sprintf("%.17g"), a "meta" block with the R version and no date.
#
# Rerun (from the repository root; about 7 minutes on one core):
#   apt-get install -y r-base-core r-cran-metafor r-cran-metadat r-cran-jsonlite
#   Rscript tests/reference/make_bayes_fixtures.R
# -----------------------------------------------------------------------------

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

if (!dir.exists(file.path("tests", "reference"))) {
  stop("run this script from the repository root: Rscript tests/reference/make_bayes_fixtures.R")
}
out_path <- file.path("tests", "reference", "fixtures", "bayes_exact.json")

# ----------------------------------------------------------------------------
# JSON writer with full double precision (same conventions as make_fixtures.R)
# ----------------------------------------------------------------------------
json_str <- function(s) as.character(jsonlite::toJSON(as.character(s), auto_unbox = TRUE))

json_atom <- function(x) {
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
  if (is.list(x)) {
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

numv <- function(x) I(as.numeric(unname(x)))
chrv <- function(x) I(as.character(unname(x)))

# ----------------------------------------------------------------------------
# Data: rebuilt from rma.json's construction code, yi/vi recomputed by escalc
# ----------------------------------------------------------------------------
rma_json <- fromJSON(file.path("tests", "reference", "fixtures", "rma.json"), simplifyVector = TRUE)

load_input <- function(input_id) {
  inp <- rma_json$inputs[[input_id]]
  env <- new.env()
  eval(parse(text = rma_json$datasets[[inp$dataset]]$construction), envir = env)
  eval(parse(text = inp$data_call), envir = env)
  dat <- get("dat", envir = env)
  yi <- as.numeric(dat$yi)
  vi <- as.numeric(dat$vi)
  if (length(yi) != length(inp$yi) ||
      max(abs(yi - inp$yi) / pmax(1, abs(inp$yi))) > 1e-14 ||
      max(abs(vi - inp$vi) / pmax(1, abs(inp$vi))) > 1e-14) {
    stop("escalc() values for ", input_id, " differ from rma.json")
  }
  list(study = as.character(inp$study), yi = yi, vi = vi,
       source = sprintf("rma.json inputs[\"%s\"] (recomputed: %s)", input_id, inp$data_call))
}

datasets <- list()
for (id in c("ketamine_24h:OR", "bcg:RR", "normand:SMD")) datasets[[id]] <- load_input(id)
k2 <- datasets[["ketamine_24h:OR"]]
datasets[["ketamine_24h:OR:first2"]] <- list(
  study = k2$study[1:2], yi = k2$yi[1:2], vi = k2$vi[1:2],
  source = "first two studies of ketamine_24h:OR (k = 2 case)")

# ----------------------------------------------------------------------------
# Priors (densities written directly from their definitions)
# ----------------------------------------------------------------------------
tau_priors <- list(
  "halfnormal(0.5)" = list(
    spec = list(kind = "halfnormal", scale = 0.5),
    density = "2 * dnorm(tau, 0, 0.5), tau >= 0",
    logpdf = function(tau) log(2) + dnorm(tau, 0, 0.5, log = TRUE),
    upper = Inf),
  "halfcauchy(0.5)" = list(
    spec = list(kind = "halfcauchy", scale = 0.5),
    density = "2 * dcauchy(tau, 0, 0.5), tau >= 0",
    logpdf = function(tau) log(2) + dcauchy(tau, 0, 0.5, log = TRUE),
    upper = Inf),
  "uniform(0,5)" = list(
    spec = list(kind = "uniform", upper = 5),
    density = "dunif(tau, 0, 5)",
    logpdf = function(tau) dunif(tau, 0, 5, log = TRUE),
    upper = 5),
  "lognormal_tau2(-2.56,1.74)" = list(
    spec = list(kind = "lognormal_tau2", meanlog = -2.56, sdlog = 1.74),
    density = "dlnorm(tau^2, -2.56, 1.74) * 2 * tau (log-normal on tau^2, change of variables to tau)",
    logpdf = function(tau) ifelse(tau > 0, dlnorm(tau^2, -2.56, 1.74, log = TRUE) + log(2 * tau), -Inf),
    upper = Inf)
)

mu_priors <- list(
  "normal(0,10)" = list(spec = list(kind = "normal", mean = 0, sd = 10),
                        logpdf = function(mu) dnorm(mu, 0, 10, log = TRUE)),
  "flat" = list(spec = list(kind = "flat"), logpdf = function(mu) 0 * mu)
)

# (data set, tau prior, mu prior) grid: the full grid with mu ~ N(0, 10), plus
# a flat prior on mu with the half-normal tau prior for every data set.
grid <- list()
for (d in names(datasets)) for (tp in names(tau_priors))
  grid[[length(grid) + 1]] <- list(dataset = d, tau_prior = tp, mu_prior = "normal(0,10)")
for (d in names(datasets))
  grid[[length(grid) + 1]] <- list(dataset = d, tau_prior = "halfnormal(0.5)", mu_prior = "flat")

REL_IN  <- 1e-12
REL_OUT <- 1e-11
ROOT_TOL <- 1e-12
level <- 0.95
probs <- c((1 - level) / 2, 0.5, (1 + level) / 2)

# ----------------------------------------------------------------------------
# Brute-force posterior
# ----------------------------------------------------------------------------
brute_force <- function(y, v, tau_prior, mu_prior) {
  k <- length(y)
  tlog <- tau_prior$logpdf
  mlog <- mu_prior$logpdf
  tau_hi <- tau_prior$upper

  # log p(mu, tau, y) for a vector of mu at one tau
  lj <- function(mu, tau) {
    s <- sqrt(v + tau^2)
    ym <- matrix(y, k, length(mu))
    mm <- matrix(mu, k, length(mu), byrow = TRUE)
    colSums(dnorm(ym, mm, s, log = TRUE)) + mlog(mu) + tlog(tau)
  }
  mu_range <- range(c(y, 0)) + c(-1, 1)

  # Section of the joint at one tau: its mode m (optimize) and width h
  # (numerical curvature), so that mu = m + h z.
  memo <- new.env(hash = TRUE)
  section <- function(tau) {
    key <- sprintf("%a", tau)
    hit <- memo[[key]]
    if (!is.null(hit)) return(hit)
    f <- function(mu) lj(mu, tau)
    o <- optimize(f, mu_range, maximum = TRUE, tol = 1e-10)
    m <- o$maximum
    e <- 1e-3 * sqrt(min(v) + tau^2) / sqrt(k)
    d2 <- (f(m + e) - 2 * f(m) + f(m - e)) / e^2
    res <- list(m = m, h = 1 / sqrt(-d2), top = o$objective)
    memo[[key]] <- res
    res
  }

  # Scale: the maximum of the joint over a tau grid (any value near it will do).
  tg <- c(seq(0, min(tau_hi, 10), length.out = 401), 1e-4, 1e-3)
  tg <- tg[is.finite(tlog(tg))]
  secs <- lapply(tg, section)
  off <- max(vapply(secs, function(s) s$top, 0))
  # absolute tolerance of the inner integrals: 1e-13 of the largest mu-section integral
  # (about h exp(top - off) sqrt(2 pi)), so that negligible sections far in the tails
  # do not have to be resolved to a relative 1e-12
  peak <- max(vapply(secs, function(s) if (is.finite(s$top)) s$h * exp(s$top - off) else 0, 0))
  abs_in <- 1e-13 * sqrt(2 * pi) * peak

  # inner(tau): integral over mu in (lo, hi) of g(mu, tau) p(mu, tau, y) / exp(off)
  inner1 <- function(tau, g, lo = -Inf, hi = Inf, at = NULL, at_w = 0) {
    if (tau_hi < Inf && tau > tau_hi) return(0)
    s <- section(tau)
    if (!is.finite(s$top)) return(0)
    fz <- function(z) {
      mu <- s$m + s$h * z
      exp(lj(mu, tau) - off) * g(mu, tau) * s$h
    }
    zlo <- (lo - s$m) / s$h
    zhi <- (hi - s$m) / s$h
    if (zlo >= zhi) return(0)
    # split at the mode, and around `at` (a step of g of width about `at_w`), when inside
    # (only within |z| < 40: beyond, the section is below exp(-800) of its peak)
    za <- c(0, if (!is.null(at)) (at - s$m + c(-10, -3, 0, 3, 10) * at_w) / s$h)
    za <- za[abs(za) < 40]
    cuts <- sort(unique(c(zlo, za[za > zlo & za < zhi], zhi)))
    tot <- 0
    for (j in seq_len(length(cuts) - 1)) {
      r <- integrate(fz, cuts[j], cuts[j + 1], rel.tol = REL_IN, abs.tol = abs_in,
                     subdivisions = 1000L, stop.on.error = TRUE)
      tot <- tot + r$value
    }
    tot
  }
  inner <- function(taus, g, lo = -Inf, hi = Inf, at = NULL, step = FALSE)
    vapply(taus, function(t) inner1(t, g, lo, hi, at, if (step) t else 0), 0)

  one <- function(mu, tau) 1 + 0 * mu
  # outer integral over tau in (a, b), split at a few fixed points
  outer <- function(h, a = 0, b = tau_hi) {
    pts <- c(0, 0.1, 0.3, 1, 3, 10, Inf)
    pts <- sort(unique(c(a, pts[pts > a & pts < b], b)))
    tot <- 0
    for (j in seq_len(length(pts) - 1)) {
      r <- integrate(h, pts[j], pts[j + 1], rel.tol = REL_OUT, abs.tol = abs_out,
                     subdivisions = 2000L, stop.on.error = TRUE)
      tot <- tot + r$value
    }
    tot
  }

  abs_out <- 0
  Z <- outer(function(t) inner(t, one))
  abs_out <- 1e-14 * Z
  mu_mean <- outer(function(t) inner(t, function(mu, tau) mu)) / Z
  mu_var <- outer(function(t) inner(t, function(mu, tau) (mu - mu_mean)^2)) / Z
  tau_mean <- outer(function(t) t * inner(t, one)) / Z
  tau_var <- outer(function(t) (t - tau_mean)^2 * inner(t, one)) / Z
  p_mu_pos <- outer(function(t) inner(t, one, lo = 0)) / Z

  cdf_tau <- function(x) outer(function(t) inner(t, one), 0, x) / Z
  cdf_mu <- function(x) outer(function(t) inner(t, one, hi = x)) / Z
  cdf_pred <- function(x) outer(function(t) inner(t, function(mu, tau) {
    if (tau == 0) as.numeric(mu <= x) else pnorm((x - mu) / tau)
  }, at = x, step = TRUE)) / Z

  qroot <- function(cdf, p, lo, hi) {
    while (cdf(lo) > p) lo <- lo - (hi - lo)
    while (cdf(hi) < p) hi <- hi + (hi - lo)
    uniroot(function(x) cdf(x) - p, c(lo, hi), tol = ROOT_TOL, maxiter = 200)$root
  }
  mu_sd <- sqrt(mu_var)
  tau_sd <- sqrt(tau_var)
  mu_q <- vapply(probs, function(p) qroot(cdf_mu, p, mu_mean - 6 * mu_sd, mu_mean + 6 * mu_sd), 0)
  tau_q <- vapply(probs, function(p) {
    hi <- if (tau_hi < Inf) tau_hi else tau_mean + 8 * tau_sd
    qroot(cdf_tau, p, 0, hi)
  }, 0)
  pred_sd <- sqrt(mu_var + tau_var + tau_mean^2)
  pred_q <- vapply(probs[c(1, 3)], function(p)
    qroot(cdf_pred, p, mu_mean - 6 * pred_sd, mu_mean + 6 * pred_sd), 0)

  # shrunken study effects: theta_i | mu, tau, y_i ~ N(B y_i + (1 - B) mu, B v_i),
  # B = tau^2 / (v_i + tau^2), so E = E[B y_i + (1 - B) mu] and
  # Var = E[B v_i] + E[(B y_i + (1 - B) mu)^2] - E^2.
  th_mean <- th_sd <- numeric(k)
  for (i in seq_len(k)) {
    cm <- function(mu, tau) {
      B <- tau^2 / (v[i] + tau^2)
      B * y[i] + (1 - B) * mu
    }
    th_mean[i] <- outer(function(t) inner(t, cm)) / Z
    th_var <- outer(function(t) inner(t, function(mu, tau) {
      B <- tau^2 / (v[i] + tau^2)
      B * v[i] + (cm(mu, tau) - th_mean[i])^2
    })) / Z
    th_sd[i] <- sqrt(th_var)
  }

  list(
    mu_mean = mu_mean, mu_sd = mu_sd,
    mu_q025 = mu_q[1], mu_median = mu_q[2], mu_q975 = mu_q[3],
    tau_mean = tau_mean, tau_sd = tau_sd,
    tau_q025 = tau_q[1], tau_median = tau_q[2], tau_q975 = tau_q[3],
    p_mu_pos = p_mu_pos,
    pred_mean = mu_mean, pred_sd = pred_sd,
    pred_q025 = pred_q[1], pred_q975 = pred_q[2],
    log_marglik = if (is.null(mu_prior$spec$sd)) NA_real_ else log(Z) + off,
    theta_mean = numv(th_mean), theta_sd = numv(th_sd)
  )
}

# ----------------------------------------------------------------------------
# Optional second reference: bayesmeta, if installed
# ----------------------------------------------------------------------------
has_bayesmeta <- requireNamespace("bayesmeta", quietly = TRUE)
bayesmeta_ref <- function(y, v, tp, mp) {
  sig <- sqrt(v)
  tprior <- function(t) exp(tau_priors[[tp]]$logpdf(t))
  mu_args <- if (mp == "flat") list(mu.prior.mean = NA, mu.prior.sd = NA) else
    list(mu.prior.mean = 0, mu.prior.sd = 10)
  fit <- do.call(bayesmeta::bayesmeta,
                 c(list(y = y, sigma = sig, tau.prior = tprior, interval.type = "central"), mu_args))
  s <- fit$summary
  list(
    version = as.character(packageVersion("bayesmeta")),
    mu_mean = s["mean", "mu"], mu_sd = s["sd", "mu"],
    mu_q025 = s["95% lower", "mu"], mu_median = s["median", "mu"], mu_q975 = s["95% upper", "mu"],
    tau_mean = s["mean", "tau"], tau_sd = s["sd", "tau"], tau_median = s["median", "tau"],
    tau_q025 = fit$qposterior(tau.p = 0.025), tau_q975 = fit$qposterior(tau.p = 0.975),
    p_mu_pos = 1 - fit$pposterior(mu = 0),
    pred_q025 = fit$qposterior(theta.p = 0.025, predict = TRUE),
    pred_q975 = fit$qposterior(theta.p = 0.975, predict = TRUE),
    log_marglik = log(fit$marginal.likelihood)
  )
}

cases <- list()
t_start <- proc.time()[["elapsed"]]
for (g in grid) {
  d <- datasets[[g$dataset]]
  t0 <- proc.time()[["elapsed"]]
  res <- brute_force(d$yi, d$vi, tau_priors[[g$tau_prior]], mu_priors[[g$mu_prior]])
  case <- c(list(dataset = g$dataset, tau_prior = g$tau_prior, mu_prior = g$mu_prior,
                 level = level, k = length(d$yi)), res)
  if (has_bayesmeta) case$bayesmeta <- bayesmeta_ref(d$yi, d$vi, g$tau_prior, g$mu_prior)
  cases[[length(cases) + 1]] <- case
  cat(sprintf("%-24s %-28s %-14s mu %.6f tau %.6f  (%.1f s)\n", g$dataset, g$tau_prior,
              g$mu_prior, res$mu_mean, res$tau_mean, proc.time()[["elapsed"]] - t0))
}
cat(sprintf("total %.1f s\n", proc.time()[["elapsed"]] - t_start))

meta <- list(
  file = "bayes_exact.json: exact posteriors of the Bayesian normal-normal random-effects model",
  generator = "tests/reference/make_bayes_fixtures.R",
  rerun = "Rscript tests/reference/make_bayes_fixtures.R  (from the repository root)",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  number_format = "doubles written with sprintf('%.17g') (exact round trip); NA/NaN/Inf written as null",
  model = paste("y_i ~ N(theta_i, v_i), theta_i ~ N(mu, tau^2); mu ~ N(mean, sd^2) or flat;",
                "tau ~ tau_priors[*] (theta_i integrated out: y_i | mu, tau ~ N(mu, v_i + tau^2))"),
  method = paste("brute-force nested adaptive quadrature with stats::integrate (QUADPACK):",
                 "the joint density p(mu, tau, y) is integrated over mu with integrate() for each tau",
                 "(after centring at the mu-section's mode from optimize() and scaling by its numerical",
                 "curvature), and the result over tau with integrate(); quantiles by uniroot() on the",
                 "nested-integral CDFs; predictive CDF as the nested integral of pnorm((x - mu) / tau)"),
  tolerances = list(inner_rel_tol = REL_IN, inner_abs_tol = "1e-13 x largest mu-section integral",
                    outer_rel_tol = REL_OUT, outer_abs_tol = "1e-14 x normalising constant",
                    uniroot_tol = ROOT_TOL),
  quantities = c(
    "mu_* / tau_*: posterior mean, sd, 2.5%, 50%, 97.5% quantiles (equal-tailed 95% interval)",
    "p_mu_pos: P(mu > 0 | y)",
    "pred_*: posterior predictive distribution of theta_new ~ N(mu, tau^2): mean, sd, 2.5%, 97.5%",
    "log_marglik: log p(y) with all normalising constants (null for the improper flat mu prior)",
    "theta_mean / theta_sd: posterior mean and sd of each study's theta_i (shrinkage estimates)"),
  turner_prior = paste("lognormal_tau2(-2.56,1.74): log(tau^2) ~ N(-2.56, 1.74^2), the 'marginal' (general)",
                       "setting of Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT (2015).",
                       "Predictive distributions for between-study heterogeneity and simple methods for",
                       "their application in Bayesian meta-analysis. Statistics in Medicine 34(6):984-998",
                       "(any outcome, any comparison type; as bayesmeta::TurnerEtAlPrior(NA))"),
  grid = "every data set x every tau prior with mu ~ N(0, 10^2); plus mu flat with halfnormal(0.5) for every data set",
  bayesmeta = if (has_bayesmeta) {
    paste("bayesmeta", as.character(packageVersion("bayesmeta")), "recorded per case under `bayesmeta`")
  } else {
    paste("not available: bayesmeta is not installed and has no Debian package (r-cran-bayesmeta has no",
          "candidate in apt); only the brute-force reference is recorded")
  }
)

out <- list(
  meta = meta,
  datasets = lapply(datasets, function(d)
    list(source = d$source, study = chrv(d$study), yi = numv(d$yi), vi = numv(d$vi))),
  tau_priors = lapply(tau_priors, function(p) c(p$spec, list(density = p$density))),
  mu_priors = lapply(mu_priors, function(p) p$spec),
  cases = cases
)
con <- file(out_path, open = "w", encoding = "UTF-8")
writeLines(to_json(out), con)
close(con)
cat(sprintf("wrote %s (%d bytes)\n", out_path, file.size(out_path)))
