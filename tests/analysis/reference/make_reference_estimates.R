# Reference estimates for tests/analysis/test_estimate.py and test_intervals.py.
#
# How to run (from the repository root; needs R with the survey package):
#
#     python tests/analysis/reference/make_reference_data.py   # data, deterministic
#     Rscript tests/analysis/reference/make_reference_estimates.R
#
# Writes tests/analysis/reference/reference_estimates.csv and reference_intervals.csv
# (17 significant digits) and reference_estimates_session.txt (sessionInfo()). Made with
# R 4.2.2 and survey 4.1-1 (Debian bookworm packages r-base-core, r-cran-survey).
# The Python tests only read the CSV files; they do not need R.
#
# For every data set, lonely-PSU rule and domain (ALL, each unit, each province of
# the parent mapping) it records, per indicator:
#   criteria  svyratio(~y, ~a, subset(design, domain)) with y = answered 4-5 and
#             a = answered: estimate, variance; svymean(~y, subset(..., a == 1),
#             deff = TRUE): design effect; degf(subset(design, domain)): df;
#             svyciprop on subset(..., a == 1) with that df: "beta", "logit",
#             "xlogit", "mean" intervals; Korn-Graubard and Wilson from their
#             formulas (NCHS; Kott and Carr 1997) on R's variance.
#             For the df conventions (df = "domain" | "answers" in the package):
#             df_answers = degf(subset(..., a == 1)) (which svyciprop's beta
#             always uses); beta_domain: svyciprop's beta formula with the domain's
#             df instead; xlogit_answers: svyciprop(method = "xlogit") with its
#             default df, degf of the answers; kg_answers, wilson_answers: the
#             formulas with the df of the answers.
#   composites svytotal of all y and a, then svycontrast with the nonlinear
#             contrast sum_k c_k y_k / a_k (delta method = linearisation) for each
#             element (mean of its criteria) and SIPAS (mean of elements):
#             estimate, variance, t interval with degf; deff as R's svymean deff
#             formula applied to the composite's linearised variable.

suppressPackageStartupMessages(library(survey))

here <- "tests/analysis/reference"
criteria <- c("1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "2.5",
              "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "4.1", "4.2", "4.3",
              "5.1", "5.2", "5.3", "5.4")
element_of <- paste0("E", sub("\\..*", "", criteria))
elements <- unique(element_of)
ys <- paste0("y", seq_along(criteria))
as <- paste0("a", seq_along(criteria))

read_data <- function(name) {
  d <- read.csv(file.path(here, paste0("data_", name, ".csv")), check.names = FALSE,
                colClasses = c(unit = "character", stratum = "character",
                               psu = "character"))
  for (k in seq_along(criteria)) {
    x <- d[[criteria[k]]]
    d[[ys[k]]] <- as.numeric(!is.na(x) & x >= 4)
    d[[as[k]]] <- as.numeric(!is.na(x))
  }
  d
}

fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

# Korn-Graubard (NCHS) and survey Wilson intervals from a proportion and its variance
kg_interval <- function(p, v, n, df, level) {
  if (df <= 0 || n < 2) return(c(NA, NA))
  alpha <- 1 - level
  neff <- if (v > 0) min(n, p * (1 - p) / v) else n
  ndf <- min(n, neff * (qt(1 - alpha / 2, n - 1) / qt(1 - alpha / 2, df))^2)
  x <- p * ndf
  low <- if (x > 0) qbeta(alpha / 2, x, ndf - x + 1) else 0
  high <- if (x < ndf) qbeta(1 - alpha / 2, x + 1, ndf - x) else 1
  c(low, high)
}

wilson_interval <- function(p, v, n, df, level) {
  if (df <= 0) return(c(NA, NA))
  neff <- if (v > 0) min(n, p * (1 - p) / v) else n
  crit <- qt(1 - (1 - level) / 2, df)
  denom <- 1 + crit^2 / neff
  centre <- (p + crit^2 / (2 * neff)) / denom
  half <- crit * sqrt(p * (1 - p) / neff + crit^2 / (4 * neff^2)) / denom
  c(max(0, centre - half), min(1, centre + half))
}

# svyciprop(method = "beta") of survey 4.1-1 with the df given instead of degf(design)
beta_interval <- function(p, v, nrows, df, level) {
  if (df <= 0 || !(v > 0)) return(c(NA, NA))
  alpha <- 1 - level
  neff <- p * (1 - p) / v * (qt(alpha / 2, nrows - 1) / qt(alpha / 2, df))^2
  c(qbeta(alpha / 2, neff * p, neff * (1 - p) + 1),
    qbeta(1 - alpha / 2, neff * p + 1, neff * (1 - p)))
}

ci_or_na <- function(expr) {
  tryCatch(suppressWarnings(as.vector(attr(expr, "ci"))),
           error = function(e) c(NA, NA))
}

criterion_rows <- function(sub, level) {
  df <- degf(sub)
  rows <- list()
  for (k in seq_along(criteria)) {
    y <- ys[k]
    a <- as[k]
    r <- svyratio(make.formula(y), make.formula(a), sub)
    p <- as.vector(coef(r))
    v <- as.vector(vcov(r))
    answered <- sub[sub$variables[[a]] == 1, ]
    n <- sum(weights(answered) != 0)
    m <- svymean(make.formula(y), answered, deff = TRUE)
    f <- make.formula(y)
    beta <- ci_or_na(svyciprop(f, answered, method = "beta", df = df, level = level))
    logit <- ci_or_na(svyciprop(f, answered, method = "logit", df = df, level = level))
    xlogit <- ci_or_na(svyciprop(f, answered, method = "xlogit", df = df,
                                 level = level))
    tmean <- ci_or_na(svyciprop(f, answered, method = "mean", df = df, level = level))
    kg <- kg_interval(p, v, n, df, level)
    wil <- wilson_interval(p, v, n, df, level)
    neff <- if (v > 0) min(n, p * (1 - p) / v) else n
    df_answers <- degf(answered)
    beta_domain <- beta_interval(p, v, nrow(answered), df, level)
    xlogit_answers <- ci_or_na(svyciprop(f, answered, method = "xlogit", level = level))
    kg_answers <- kg_interval(p, v, n, df_answers, level)
    wil_answers <- wilson_interval(p, v, n, df_answers, level)
    rows[[k]] <- c(criteria[k], fmt(c(p, sqrt(v), v, as.vector(coef(m)),
                   as.vector(vcov(m)), deff(m), df, n, neff, beta, logit, xlogit,
                   tmean, kg, wil, NA, NA, df_answers, beta_domain, xlogit_answers,
                   kg_answers, wil_answers)))
  }
  rows
}

composite_rows <- function(sub, level) {
  df <- degf(sub)
  totals_stat <- svytotal(make.formula(c(ys, as)), sub)
  nn <- length(criteria)
  ratio_terms <- paste0("`", ys, "`/`", as, "`")
  weights_of <- lapply(elements, function(e) as.numeric(element_of == e) /
                         sum(element_of == e))
  names(weights_of) <- elements
  overall <- Reduce(`+`, weights_of) / length(elements)
  contrasts <- c(list(SIPAS = overall), weights_of)
  expressions <- lapply(contrasts, function(coef_k) {
    used <- coef_k != 0
    parse(text = paste0(coef_k[used], " * ", ratio_terms[used], collapse = " + "))[[1]]
  })
  con <- svycontrast(totals_stat, expressions)
  est <- as.vector(coef(con))
  v <- diag(as.matrix(vcov(con)))
  half <- if (df > 0) qt(1 - (1 - level) / 2, df) * sqrt(v) else NA * v
  stat <- coef(totals_stat)[ys] / coef(totals_stat)[as]
  # deff: the composite's linearised variable x_i = N * sum_k c_k a_ik (y_ik - R_k) / A_k
  vars <- sub$variables
  w <- weights(sub)
  totals <- colSums(vars[, as] * w)
  rows <- list()
  for (j in seq_along(contrasts)) {
    coef_k <- contrasts[[j]]
    used <- coef_k != 0
    any_answer <- rowSums(vars[, as[used], drop = FALSE]) > 0
    part <- sub[any_answer, ]
    psum <- sum(weights(part))
    nobs <- sum(weights(part) != 0)
    resid <- as.matrix(vars[, ys]) - sweep(as.matrix(vars[, as]), 2, stat, "*")
    x <- psum * as.vector(resid %*% (coef_k / totals))
    part <- update(part, xlin = x[any_answer])
    s2 <- sum(w[any_answer] * x[any_answer]^2) / psum
    vsrs <- coef(svyvar(~xlin, part)) * (psum - nobs) / (psum * nobs)
    neff <- if (v[j] > 0) min(nobs, s2 / v[j]) else nobs
    rows[[j]] <- c(names(contrasts)[j], fmt(c(est[j], sqrt(v[j]), v[j], NA, NA,
                   v[j] / vsrs, df, nobs, neff, rep(NA, 12), est[j] - half[j],
                   est[j] + half[j], df, rep(NA, 8))))
  }
  rows
}

cases <- list(
  list(name = "srs", ids = ~1, strata = NULL, fpc = ~fpc, lonely = "adjust"),
  list(name = "stratified", ids = ~1, strata = ~stratum, fpc = ~fpc,
       lonely = "adjust"),
  list(name = "cluster", ids = ~psu, strata = ~stratum, fpc = ~fpc,
       lonely = "adjust", parents = "parents_cluster.csv"),
  list(name = "crossed", ids = ~psu, strata = ~stratum, fpc = ~fpc,
       lonely = "adjust"),
  list(name = "lonely", ids = ~psu, strata = ~stratum, fpc = ~fpc, lonely = "adjust"),
  list(name = "lonely", ids = ~psu, strata = ~stratum, fpc = ~fpc, lonely = "average"),
  list(name = "lonely", ids = ~psu, strata = ~stratum, fpc = ~fpc, lonely = "remove"),
  list(name = "lonely", ids = ~psu, strata = ~stratum, fpc = ~fpc,
       lonely = "certainty"),
  list(name = "cluster", ids = ~psu, strata = ~stratum, fpc = ~fpc,
       lonely = "adjust", parents = "parents_cluster.csv", level = 0.9)
)

header <- c("dataset", "lonely_psu", "level", "unit", "indicator", "estimate", "se",
            "variance", "mean_estimate", "mean_variance", "deff", "df", "n", "n_eff",
            "beta_low", "beta_high", "logit_low", "logit_high", "xlogit_low",
            "xlogit_high", "mean_low", "mean_high", "kg_low", "kg_high",
            "wilson_low", "wilson_high", "t_low", "t_high", "df_answers",
            "beta_domain_low", "beta_domain_high", "xlogit_answers_low",
            "xlogit_answers_high", "kg_answers_low", "kg_answers_high",
            "wilson_answers_low", "wilson_answers_high")
out <- list()
for (case in cases) {
  options(survey.lonely.psu = case$lonely)
  level <- if (is.null(case$level)) 0.95 else case$level
  d <- read_data(case$name)
  des <- svydesign(ids = case$ids, strata = case$strata, fpc = case$fpc,
                   weights = ~weight, data = d)
  domains <- list(ALL = rep(TRUE, nrow(d)))
  for (u in sort(unique(d$unit))) domains[[u]] <- d$unit == u
  if (!is.null(case$parents)) {
    parents <- read.csv(file.path(here, case$parents), colClasses = "character")
    for (p in sort(unique(parents$parent))) {
      domains[[p]] <- d$unit %in% parents$unit[parents$parent == p]
    }
  }
  for (label in names(domains)) {
    sub <- if (label == "ALL") des else des[domains[[label]], ]
    rows <- c(composite_rows(sub, level), criterion_rows(sub, level))
    for (row in rows) {
      out[[length(out) + 1]] <- c(case$name, case$lonely, fmt(level), label, row)
    }
  }
}
table <- do.call(rbind, out)
colnames(table) <- header
write.csv(table, file.path(here, "reference_estimates.csv"), row.names = FALSE,
          quote = FALSE)
# Plain binomial intervals: Clopper-Pearson (binom.test) and Wilson (prop.test
# without continuity correction), for tests/analysis/test_intervals.py
binomial <- list()
for (level in c(0.95, 0.9)) {
  for (x in c(0, 1, 7, 20, 50)) {
    for (n in c(20, 50)) {
      if (x > n) next
      cp <- as.vector(binom.test(x, n, conf.level = level)$conf.int)
      wilson <- as.vector(suppressWarnings(prop.test(x, n, conf.level = level,
                                                     correct = FALSE))$conf.int)
      binomial[[length(binomial) + 1]] <- fmt(c(level, x, n, cp, wilson))
    }
  }
}
binomial <- do.call(rbind, binomial)
colnames(binomial) <- c("level", "count", "nobs", "cp_low", "cp_high", "wilson_low",
                        "wilson_high")
write.csv(binomial, file.path(here, "reference_intervals.csv"), row.names = FALSE,
          quote = FALSE)
writeLines(capture.output(sessionInfo()),
           file.path(here, "reference_estimates_session.txt"))
