# Reference values for tests/analysis/test_sampling_reference.py: the sampled channel.
#
# How to run (from the repository root; needs R with the survey package):
#
#     python tests/analysis/reference/make_sampled_data.py   # data, deterministic
#     Rscript tests/analysis/reference/make_reference_sampled.R
#
# Writes reference_sampled_weights.csv (each respondent's weight), reference_sampled.csv
# (estimates per domain and indicator, 17 significant digits) and
# reference_sampled_session.txt (sessionInfo()). Made with R 4.2.2 and survey 4.1-1.
#
# What R computes, and the conventions the platform follows:
#   * Weights are computed here from the drawn sample on their own (not by the
#     platform): base weight d = 1/pi; within each stratum (unit x field) the
#     respondents carry the nonrespondents, w = d * sum(d) / sum(d * responded); a
#     stratum without respondents passes its weight to the respondents of its unit
#     (second factor sum_unit(d) / sum_unit(d of strata with respondents)).
#   * The design is svydesign(ids = ~1, strata = ~stratum, fpc = ~N, weights = ~w) on
#     the respondents only. R uses the weights as given and the fpc only in the
#     variance, as 1 - r_h / N_h with r_h the respondents of stratum h: respondents
#     are treated as a simple random sample of their stratum (the response homogeneity
#     group model), and the nonresponse adjustment as fixed (no variance of its own).
#     A stratum with r_h = N_h is a census and adds no variance; one with a single
#     respondent follows survey.lonely.psu = "adjust".
#   * Domains (ALL and each unit) are subsets of the design (subset keeps every
#     stratum in the variance), degrees of freedom degf() of the subset.
#   * Criteria: svyratio(~y, ~a) with y = answered 4 or 5, a = answered;
#     svyciprop(method = "beta") on the answered (it takes its df from the answered
#     subset whatever df it is given: the platform's df = "answers"), and the
#     Korn-Graubard interval from its formula with the domain's df (as
#     make_reference_estimates.R). Elements (mean of their criteria)
#     and SIPAS (mean of elements): svycontrast of svytotal, t interval with degf.

suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "adjust")

here <- "tests/analysis/reference"
criteria <- c("1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "2.5",
              "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "4.1", "4.2", "4.3",
              "5.1", "5.2", "5.3", "5.4")
element_of <- paste0("E", sub("\\..*", "", criteria))
elements <- unique(element_of)
ys <- paste0("y", seq_along(criteria))
as <- paste0("a", seq_along(criteria))
fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

d <- read.csv(file.path(here, "data_sampled.csv"), check.names = FALSE,
              colClasses = c(unit = "character", field = "character",
                             stratum = "character"))
d$base <- 1 / d$pi
cell_resp <- ave(d$base * d$responded, d$stratum, FUN = sum)
covered <- cell_resp > 0
within <- ifelse(d$responded == 1 & covered,
                 d$base * ave(d$base, d$stratum, FUN = sum) / cell_resp, 0)
d$w <- within * ave(d$base, d$unit, FUN = sum) / ave(d$base * covered, d$unit,
                                                      FUN = sum)
resp <- d[d$responded == 1, ]
for (k in seq_along(criteria)) {
  x <- resp[[criteria[k]]]
  resp[[ys[k]]] <- as.numeric(!is.na(x) & x >= 4)
  resp[[as[k]]] <- as.numeric(!is.na(x))
}
write.csv(data.frame(case = resp$case, w = fmt(resp$w)),
          file.path(here, "reference_sampled_weights.csv"), row.names = FALSE,
          quote = FALSE)

des <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N, weights = ~w, data = resp)

kg_interval <- function(p, v, n, df, level) {
  if (df <= 0 || n < 2) return(c(NA, NA))
  alpha <- 1 - level
  neff <- if (v > 0) min(n, p * (1 - p) / v) else n
  ndf <- min(n, neff * (qt(1 - alpha / 2, n - 1) / qt(1 - alpha / 2, df))^2)
  x <- p * ndf
  c(if (x > 0) qbeta(alpha / 2, x, ndf - x + 1) else 0,
    if (x < ndf) qbeta(1 - alpha / 2, x + 1, ndf - x) else 1)
}

rows_of <- function(sub, level = 0.95) {
  df <- degf(sub)
  rows <- list()
  for (k in seq_along(criteria)) {
    r <- svyratio(make.formula(ys[k]), make.formula(as[k]), sub)
    p <- as.vector(coef(r))
    v <- as.vector(vcov(r))
    answered <- sub[sub$variables[[as[k]]] == 1, ]
    n <- sum(weights(answered) != 0)
    beta <- tryCatch(as.vector(attr(svyciprop(make.formula(ys[k]), answered,
                                              method = "beta", df = df,
                                              level = level), "ci")),
                     error = function(e) c(NA, NA))
    rows[[k]] <- c(criteria[k], fmt(c(p, sqrt(v), df, n, beta,
                                      kg_interval(p, v, n, df, level), NA, NA)))
  }
  totals <- svytotal(make.formula(c(ys, as)), sub)
  terms <- paste0("`", ys, "`/`", as, "`")
  by_element <- lapply(elements, function(e) as.numeric(element_of == e) /
                         sum(element_of == e))
  names(by_element) <- elements
  contrasts <- c(list(SIPAS = Reduce(`+`, by_element) / length(elements)),
                 by_element)
  expressions <- lapply(contrasts, function(c_k) {
    parse(text = paste0(c_k[c_k != 0], " * ", terms[c_k != 0], collapse = " + "))[[1]]
  })
  con <- svycontrast(totals, expressions)
  est <- as.vector(coef(con))
  se <- sqrt(diag(as.matrix(vcov(con))))
  half <- qt(1 - (1 - level) / 2, df) * se
  for (j in seq_along(contrasts)) {
    rows[[length(rows) + 1]] <- c(names(contrasts)[j],
                                  fmt(c(est[j], se[j], df, NA, NA, NA, NA, NA,
                                        est[j] - half[j], est[j] + half[j])))
  }
  rows
}

out <- list()
domains <- c("ALL", sort(unique(resp$unit)))
for (label in domains) {
  sub <- if (label == "ALL") des else subset(des, unit == label)
  for (row in rows_of(sub)) out[[length(out) + 1]] <- c(label, row)
}
table <- do.call(rbind, out)
colnames(table) <- c("unit", "indicator", "estimate", "se", "df", "n", "beta_low",
                     "beta_high", "kg_low", "kg_high", "t_low", "t_high")
write.csv(table, file.path(here, "reference_sampled.csv"), row.names = FALSE,
          quote = FALSE)
writeLines(capture.output(sessionInfo()),
           file.path(here, "reference_sampled_session.txt"))
