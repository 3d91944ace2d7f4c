# Reference values for the findings of the independent check against R (issue 10,
# item 7), read by tests/analysis/test_findings.py.
#
# Written with R 4.2.2 and survey 4.1.1 (also in the "source" column). Run from the
# repository root:
#   python tests/analysis/reference/make_findings_data.py   # data_average.csv
#   Rscript tests/analysis/reference/make_reference_findings.R
# Output: tests/analysis/reference/reference_findings.csv, one row per check, domain
# and indicator, with columns
#   finding     average: a unit minus the province under lonely_psu = "average"
#                 (svytotal of the numerators and denominators of both domains on the
#                 whole design, then svycontrast), in percentage points;
#               beta, xlogit: svyciprop(method = "beta" | "xlogit") with its default
#                 df on the design restricted to a unit and the criterion's answers
#                 (design[unit == u & opinion == 1, ]), with nrow() and degf() of that
#                 restricted design, on the 0-1 scale;
#               nest: svyby(svyratio) per unit on a design whose PSU ids restart in
#                 every stratum, declared with nest = TRUE.
#   design      which design (see below); domain; indicator (criterion code or SIPAS);
#   estimate, se, low, high, nrow, df.
#
# Designs:
#   average    data_average.csv: svydesign(ids = ~psu, strata = ~stratum,
#              weights = ~weight), survey.lonely.psu = "average"
#   calibrate  responses_current.csv raked to unit x gender and unit x age group
#              (calibrate(calfun = "raking")), as in make_reference_weights.R
#   poststrat  responses_current.csv post-stratified to unit x gender
#   zero       responses_current.csv with the weight of every 7th row (rows 1, 8,
#              15, ... counted from 1) set to zero, no calibration
#   nest       data_cluster.csv with the PSU id cut to its number within the
#              stratum ("s1-3" -> "3"), nest = TRUE

suppressMessages(library(survey))
options(digits = 17)
here <- "tests/analysis/reference"
source_label <- sprintf("R %s.%s, survey %s", R.version$major, R.version$minor,
                        as.character(packageVersion("survey")))

rows <- list()
add <- function(finding, design, domain, indicator, estimate, se, low = NA,
                high = NA, nrow = NA, df = NA) {
  rows[[length(rows) + 1]] <<- data.frame(
    finding = finding, design = design, domain = domain, indicator = indicator,
    estimate = as.numeric(estimate), se = as.numeric(se), low = as.numeric(low),
    high = as.numeric(high), nrow = nrow, df = df)
}

read <- function(name) {
  read.csv(file.path(here, name), check.names = FALSE,
           colClasses = c(unit = "character", stratum = "character",
                          psu = "character"))
}
key_of <- function(crit) sub(".", "_", crit, fixed = TRUE)
# s_<key>: satisfied (4-5); o_<key>: an opinion was given
add_flags <- function(d, criteria) {
  for (crit in criteria) {
    answer <- d[[crit]]
    d[[paste0("s_", key_of(crit))]] <- as.numeric(!is.na(answer) & answer >= 4)
    d[[paste0("o_", key_of(crit))]] <- as.numeric(!is.na(answer))
  }
  d
}

# --- 1. a unit minus the province under lonely_psu = "average" -----------------------
options(survey.lonely.psu = "average")
d <- read("data_average.csv")
criteria <- names(d)[grepl("^[0-9]+\\.[0-9]+$", names(d))]
elements <- split(criteria, sub("\\..*", "", criteria))
units <- sort(unique(d$unit))
domains <- c(units, "ALL")
vars <- c()
for (crit in criteria) {
  answer <- d[[crit]]
  for (dom in domains) {
    inside <- if (dom == "ALL") 1 else as.numeric(d$unit == dom)
    n <- paste0("n_", dom, "_", key_of(crit))
    a <- paste0("d_", dom, "_", key_of(crit))
    d[[n]] <- as.numeric(!is.na(answer) & answer >= 4) * inside
    d[[a]] <- as.numeric(!is.na(answer)) * inside
    vars <- c(vars, n, a)
  }
}
ratio_expr <- function(dom, crit) {
  sprintf("n_%s_%s / d_%s_%s", dom, key_of(crit), dom, key_of(crit))
}
index_expr <- function(dom) {
  parts <- sapply(elements, function(crits) {
    sprintf("(%s) / %d", paste(sapply(crits, function(cr) ratio_expr(dom, cr)),
                               collapse = " + "), length(crits))
  })
  sprintf("(%s) / %d", paste(parts, collapse = " + "), length(elements))
}
contrasts <- list()
for (u in units) {
  contrasts[[paste0(u, ":SIPAS")]] <- parse(
    text = sprintf("100 * (%s - (%s))", index_expr(u), index_expr("ALL")))[[1]]
  for (crit in criteria) {
    contrasts[[paste0(u, ":", crit)]] <- parse(
      text = sprintf("100 * (%s - %s)", ratio_expr(u, crit), ratio_expr("ALL", crit)))[[1]]
  }
}
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = d)
tot <- svytotal(as.formula(paste("~", paste(vars, collapse = "+"))), des)
con <- svycontrast(tot, contrasts)
labels <- strsplit(names(coef(con)), ":", fixed = TRUE)
for (k in seq_along(labels)) {
  add("average", "average", labels[[k]][1], labels[[k]][2], coef(con)[k], SE(con)[k])
}

# --- 2. beta and logit intervals after calibration and with zero weights -------------
options(survey.lonely.psu = "adjust")
dat <- read.csv(file.path(here, "responses_current.csv"), check.names = FALSE,
                stringsAsFactors = FALSE)
criteria <- names(dat)[grepl("^[0-9]+\\.[0-9]+$", names(dat))]
dat <- add_flags(dat, criteria)
pop_gender <- read.csv(file.path(here, "margin_unit_gender.csv"))
pop_age <- read.csv(file.path(here, "margin_unit_age.csv"))
names(pop_gender)[names(pop_gender) == "population"] <- "Freq"
names(pop_age)[names(pop_age) == "population"] <- "Freq"
base <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, fpc = ~fpc,
                  data = dat)
zero <- dat
zero$weight[seq(1, nrow(zero), by = 7)] <- 0
interval_designs <- list(
  calibrate = calibrate(base, list(~unit + gender, ~unit + age_group),
                        list(pop_gender, pop_age), calfun = "raking",
                        epsilon = 1e-12, maxit = 100),
  poststrat = postStratify(base, ~unit + gender, pop_gender),
  zero = svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, fpc = ~fpc,
                   data = zero)
)
for (name in names(interval_designs)) {
  design <- interval_designs[[name]]
  for (u in c("ALL", sort(unique(dat$unit)))) {
    for (crit in criteria) {
      s <- paste0("s_", key_of(crit))
      o <- paste0("o_", key_of(crit))
      inside <- dat[[o]] == 1 & (u == "ALL" | dat$unit == u)
      sub <- design[inside, ]
      for (method in c("beta", "xlogit")) {
        ci <- svyciprop(as.formula(paste0("~", s)), sub, method = method)
        add(method, name, u, crit, as.vector(ci), sqrt(as.vector(attr(ci, "var"))),
            attr(ci, "ci")[1], attr(ci, "ci")[2], nrow(sub), degf(sub))
      }
    }
  }
}

# --- 3. PSU ids that restart in every stratum, nest = TRUE ---------------------------
d <- read("data_cluster.csv")
criteria <- names(d)[grepl("^[0-9]+\\.[0-9]+$", names(d))]
d <- add_flags(d, criteria)
d$psu <- sub(".*-", "", d$psu)
des <- svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~weight,
                 data = d, nest = TRUE)
for (crit in criteria) {
  b <- svyby(as.formula(paste0("~s_", key_of(crit))), ~unit, des, svyratio,
             denominator = as.formula(paste0("~o_", key_of(crit))))
  add("nest", "nest", as.character(b$unit), crit, coef(b), SE(b),
      df = sapply(as.character(b$unit), function(u) degf(des[d$unit == u, ])))
}

out <- do.call(rbind, rows)
out$source <- source_label
write.csv(out, file.path(here, "reference_findings.csv"), row.names = FALSE)
cat("written with", source_label, "\n")
