# Reference values for analysis/weights.py and analysis/compare.py from R's survey package.
#
# Written with R 4.2.2 and survey 4.1.1 (the versions used are also written into the
# "source" column of every output file). Run from the repository root:
#   python tests/analysis/reference/make_weights_data.py   # the synthetic data (fixed seed)
#   Rscript tests/analysis/reference/make_reference_weights.R
# Outputs (tests/analysis/reference/):
#   reference_weights.csv            final weights of each design, one row per response
#   reference_weights_estimates.csv  svyratio / svyby / svymean / svytotal: estimate, SE
#   reference_compare.csv            overall index and criterion 1.1 per domain, and their
#                                    differences unit - ALL, unit - parent node, node - ALL
#                                    and unit - unit (svytotal + svycontrast), estimate, SE
#
# Designs (stratified cluster sample, strata = unit x field, PSU = counter-day, fpc =
# counter-days in the period, base weight = dossiers / responses of the stratum):
#   base         svydesign(ids=~psu, strata=~stratum, weights=~weight, fpc=~fpc)
#   poststrat    postStratify(base, ~unit+gender, margin_unit_gender)
#   rake         rake(base, list(~unit+gender, ~unit+age_group), ...)  default control
#   calibrate    calibrate(base, list(...), calfun="raking", epsilon=1e-12)
#   linear       calibrate(base, list(...), calfun="linear")
#   trim         trimWeights(calibrate, lower=8, upper=100)
#   trim_strict  trimWeights(calibrate, lower=8, upper=100, strict=TRUE)
#   ps_trim      trimWeights(poststrat, upper=59.5)
#   ps_trim_strict  trimWeights(poststrat, upper=59.5, strict=TRUE)  (several passes)

suppressMessages(library(survey))
options(survey.lonely.psu = "adjust", digits = 17)
here <- "tests/analysis/reference"
source_label <- sprintf("R %s.%s, survey %s", R.version$major, R.version$minor,
                        as.character(packageVersion("survey")))

dat <- read.csv(file.path(here, "responses_current.csv"), check.names = FALSE,
                stringsAsFactors = FALSE)
prev <- read.csv(file.path(here, "responses_previous.csv"), check.names = FALSE,
                 stringsAsFactors = FALSE)
pop_gender <- read.csv(file.path(here, "margin_unit_gender.csv"), stringsAsFactors = FALSE)
pop_age <- read.csv(file.path(here, "margin_unit_age.csv"), stringsAsFactors = FALSE)
names(pop_gender)[names(pop_gender) == "population"] <- "Freq"
names(pop_age)[names(pop_age) == "population"] <- "Freq"

criteria <- names(dat)[grepl("^[0-9]+\\.[0-9]+$", names(dat))]
elements <- split(criteria, sub("\\..*", "", criteria))
units <- sort(unique(dat$unit))
# a two-level tree: U01-U03 under node D1, U04-U05 under node D2, both under ALL
tree <- list(D1 = c("U01", "U02", "U03"), D2 = c("U04", "U05"))
parent_of <- c(U01 = "D1", U02 = "D1", U03 = "D1", U04 = "D2", U05 = "D2")
domains <- c(units, names(tree), "ALL")

# satisfied (4-5) and opinion given, per criterion and domain; "ALL" is everyone
add_scores <- function(d) {
  for (crit in criteria) {
    key <- sub(".", "_", crit, fixed = TRUE)
    answer <- d[[crit]]
    opinion <- as.numeric(!is.na(answer))
    satisfied <- as.numeric(!is.na(answer) & answer >= 4)
    d[[paste0("s_", key)]] <- satisfied
    d[[paste0("o_", key)]] <- opinion
    for (dom in domains) {
      inside <- if (dom == "ALL") 1 else as.numeric(d$unit %in% c(dom, tree[[dom]]))
      d[[paste0("n_", dom, "_", key)]] <- satisfied * inside
      d[[paste0("d_", dom, "_", key)]] <- opinion * inside
    }
  }
  d$female <- as.numeric(d$gender == "nu")
  d
}
dat <- add_scores(dat)
prev <- add_scores(prev)

make_base <- function(d) {
  svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, fpc = ~fpc, data = d)
}
base <- make_base(dat)
margins <- list(~unit + gender, ~unit + age_group)
populations <- list(pop_gender, pop_age)
designs <- list(base = base)
designs$poststrat <- postStratify(base, ~unit + gender, pop_gender)
designs$rake <- rake(base, margins, populations)
designs$calibrate <- calibrate(base, margins, populations, calfun = "raking",
                               epsilon = 1e-12, maxit = 100)
designs$linear <- calibrate(base, margins, populations, calfun = "linear")
designs$trim <- trimWeights(designs$calibrate, lower = 8, upper = 100)
designs$trim_strict <- trimWeights(designs$calibrate, lower = 8, upper = 100,
                                   strict = TRUE)
designs$ps_trim <- trimWeights(designs$poststrat, upper = 59.5)
designs$ps_trim_strict <- trimWeights(designs$poststrat, upper = 59.5, strict = TRUE)

weights_out <- data.frame(row = seq_len(nrow(dat)) - 1)
for (name in names(designs)) weights_out[[name]] <- weights(designs[[name]])
weights_out$source <- source_label
write.csv(weights_out, file.path(here, "reference_weights.csv"), row.names = FALSE)

# estimates and SEs on every design
rows <- list()
add <- function(design, statistic, domain, estimate, se) {
  rows[[length(rows) + 1]] <<- data.frame(
    design = design, statistic = statistic, domain = domain,
    estimate = as.numeric(estimate), se = as.numeric(se))
}
for (name in names(designs)) {
  d <- designs[[name]]
  r <- svyratio(~s_1_1, ~o_1_1, d)
  add(name, "ratio_1.1", "ALL", coef(r), SE(r))
  b <- svyby(~s_1_1, ~unit, d, svyratio, denominator = ~o_1_1)
  add(name, "ratio_1.1", as.character(b$unit), coef(b), SE(b))
  r <- svyratio(~s_3_2, ~o_3_2, d)
  add(name, "ratio_3.2", "ALL", coef(r), SE(r))
  m <- svymean(~s_2_5, d)
  add(name, "mean_s_2.5", "ALL", coef(m), SE(m))
  t <- svytotal(~o_1_1, d)
  add(name, "total_o_1.1", "ALL", coef(t), SE(t))
  b <- svyby(~female, ~unit, d, svytotal)
  add(name, "total_female", as.character(b$unit), coef(b), SE(b))
}
estimates <- do.call(rbind, rows)
estimates$source <- source_label
write.csv(estimates, file.path(here, "reference_weights_estimates.csv"), row.names = FALSE)

# differences of indices: criterion 1.1 and the overall index (mean over elements of the
# mean over criteria of the share satisfied), in percent, by the delta method on the
# totals of satisfied and opinion per domain (svytotal + svycontrast)
ratio_expr <- function(dom, crit) {
  key <- sub(".", "_", crit, fixed = TRUE)
  sprintf("n_%s_%s / d_%s_%s", dom, key, dom, key)
}
index_expr <- function(dom) {
  parts <- sapply(elements, function(crits) {
    sprintf("(%s) / %d", paste(sapply(crits, function(cr) ratio_expr(dom, cr)),
                               collapse = " + "), length(crits))
  })
  sprintf("100 * (%s) / %d", paste(parts, collapse = " + "), length(elements))
}
totals_of <- function(d) {
  vars <- unlist(lapply(domains, function(dom) unlist(lapply(criteria, function(cr) {
    key <- sub(".", "_", cr, fixed = TRUE)
    c(paste0("n_", dom, "_", key), paste0("d_", dom, "_", key))
  }))))
  svytotal(as.formula(paste("~", paste(vars, collapse = "+"))), d)
}
contrasts <- list()
for (dom in domains) {
  contrasts[[paste0("overall:", dom)]] <- parse(text = index_expr(dom))[[1]]
  contrasts[[paste0("1.1:", dom)]] <- parse(text = paste("100 *", ratio_expr(dom, "1.1")))[[1]]
}
for (u in units) {
  contrasts[[paste0("overall:", u, "-ALL")]] <- parse(
    text = sprintf("%s - (%s)", index_expr(u), index_expr("ALL")))[[1]]
  contrasts[[paste0("1.1:", u, "-ALL")]] <- parse(
    text = sprintf("100 * (%s - %s)", ratio_expr(u, "1.1"), ratio_expr("ALL", "1.1")))[[1]]
}
for (u in units) {
  p <- parent_of[[u]]
  contrasts[[paste0("overall:", u, "-", p)]] <- parse(
    text = sprintf("%s - (%s)", index_expr(u), index_expr(p)))[[1]]
}
for (p in names(tree)) {
  contrasts[[paste0("overall:", p, "-ALL")]] <- parse(
    text = sprintf("%s - (%s)", index_expr(p), index_expr("ALL")))[[1]]
}
pairs <- combn(units, 2)
for (k in seq_len(ncol(pairs))) {
  a <- pairs[1, k]
  b <- pairs[2, k]
  contrasts[[paste0("overall:", a, "-", b)]] <- parse(
    text = sprintf("%s - (%s)", index_expr(a), index_expr(b)))[[1]]
}
rows <- list()
compare_designs <- list(base = base, calibrate = designs$calibrate,
                        poststrat = designs$poststrat, previous = make_base(prev))
for (name in names(compare_designs)) {
  tot <- totals_of(compare_designs[[name]])
  con <- svycontrast(tot, contrasts)
  rows[[name]] <- data.frame(design = name, contrast = names(coef(con)),
                             estimate = as.numeric(coef(con)), se = as.numeric(SE(con)))
}
compare <- do.call(rbind, rows)
compare$source <- source_label
write.csv(compare, file.path(here, "reference_compare.csv"), row.names = FALSE)
cat("written with", source_label, "\n")
