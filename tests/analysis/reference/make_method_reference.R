# Reference values of the method's statistics, for tests/analysis/test_items.py,
# test_multiplicity.py, test_power.py and test_pooling.py.
#
# How to run (from the repository root; needs R with the survey and Hmisc packages):
#
#     python tests/analysis/reference/make_method_data.py   # data, deterministic
#     Rscript tests/analysis/reference/make_method_reference.R
#
# Made with R 4.2.2, survey 4.1-1 and Hmisc (Debian bookworm packages); the session
# is written to reference_method_session.txt. The Python tests only read the CSV
# files; they do not need R.
#
# reference_items.csv     data_items.csv (39 items of 1001/QD-BNV, areas and blocks),
#                         svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc,
#                         weights = ~weight); for ALL and each unit: every item as
#                         svyratio(~y, ~a, subset), every composite (overall, areas,
#                         blocks) as svycontrast of svytotal of all y and a with the
#                         mean over the composite's items that have answers in the
#                         domain (the "items" aggregation rule).
# reference_pooled.csv    data_pool.csv stacked over its three periods:
#                         svydesign(ids = ~period:psu, strata = ~period:stratum,
#                         weights = ~weight), as it is ("weights") and post-stratified
#                         to the register counts of each (period, unit, field)
#                         ("poststratified"); the same estimates per unit and ALL.
# reference_p_adjust.csv  p.adjust(p, "holm" / "BH" / "bonferroni") per family.
# reference_power.csv     power.prop.test(n = n1, p1, p2, sig.level = alpha,
#                         strict = TRUE) power, and its n for the given power;
#                         Hmisc::bpower(p1, p2, n1 = n1, n2 = n2, alpha);
#                         Hmisc::bsamsize(p1, p2, fraction, alpha, power).

suppressPackageStartupMessages({
  library(survey)
  library(Hmisc)
})

here <- "tests/analysis/reference"
fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

household <- list(
  items = c(paste0("I.A.", 1:2), paste0("I.B.", 1:2), paste0("I.C.", 1:9),
            paste0("I.D.", 1:10), paste0("II.A.", 1:3), paste0("II.B.", 1:4),
            paste0("II.C.", 1:3), paste0("II.D.", 1:3), paste0("II.E.", 1:3))
)
block_of <- function(items) sub("\\.[0-9]+$", "", items)
area_of <- function(items) sub("\\..*$", "", items)

composites_of <- function(items, areas) {
  blocks <- unique(block_of(items))
  out <- list(SIPAS = items)
  if (areas) {
    for (a in unique(area_of(items))) out[[a]] <- items[area_of(items) == a]
  }
  for (b in blocks) out[[b]] <- items[block_of(items) == b]
  out
}

prepare <- function(d, items) {
  for (k in seq_along(items)) {
    x <- d[[items[k]]]
    d[[paste0("y", k)]] <- as.numeric(!is.na(x) & x >= 4)
    d[[paste0("a", k)]] <- as.numeric(!is.na(x))
  }
  d
}

# rows (indicator, estimate, variance) for one domain
estimates <- function(sub, items, composites) {
  ys <- paste0("y", seq_along(items))
  as <- paste0("a", seq_along(items))
  w <- weights(sub)
  answered <- colSums(as.matrix(sub$variables[, as]) * w) > 0
  totals <- svytotal(make.formula(c(ys[answered], as[answered])), sub)
  rows <- list()
  for (name in names(composites)) {
    used <- items %in% composites[[name]] & answered
    if (!any(used)) {
      rows[[length(rows) + 1]] <- c(name, "NA", "NA")
      next
    }
    terms <- paste0("`", ys[used], "`/`", as[used], "`")
    expr <- parse(text = paste0("(", paste(terms, collapse = " + "), ")/",
                                sum(used)))[[1]]
    con <- svycontrast(totals, list(x = expr))
    rows[[length(rows) + 1]] <- c(name, fmt(c(coef(con), vcov(con))))
  }
  for (k in seq_along(items)) {
    if (!answered[k]) {
      rows[[length(rows) + 1]] <- c(items[k], "NA", "NA")
      next
    }
    r <- svyratio(make.formula(ys[k]), make.formula(as[k]), sub)
    rows[[length(rows) + 1]] <- c(items[k], fmt(c(coef(r), vcov(r))))
  }
  rows
}

by_domain <- function(des, d, items, composites, case) {
  domains <- list(ALL = rep(TRUE, nrow(d)))
  for (u in sort(unique(d$unit))) domains[[u]] <- d$unit == u
  out <- list()
  for (label in names(domains)) {
    sub <- if (label == "ALL") des else des[domains[[label]], ]
    for (row in estimates(sub, items, composites)) {
      out[[length(out) + 1]] <- c(case, label, row)
    }
  }
  out
}

write_rows <- function(out, header, name) {
  table <- do.call(rbind, out)
  colnames(table) <- header
  write.csv(table, file.path(here, name), row.names = FALSE, quote = FALSE)
}

options(survey.lonely.psu = "adjust")

# items, areas and blocks of the household questionnaire
d <- read.csv(file.path(here, "data_items.csv"), check.names = FALSE,
              colClasses = c(unit = "character", stratum = "character",
                             psu = "character"))
d <- prepare(d, household$items)
des <- svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~weight,
                 data = d)
out <- by_domain(des, d, household$items, composites_of(household$items, TRUE),
                 "items")
write_rows(out, c("case", "unit", "indicator", "estimate", "variance"),
           "reference_items.csv")

# three periods stacked, with and without post-stratification
service_items <- household$items[24:39]
p <- read.csv(file.path(here, "data_pool.csv"), check.names = FALSE,
              colClasses = c(unit = "character", stratum = "character",
                             psu = "character", period = "character"))
p <- prepare(p, service_items)
p$cell <- paste(p$period, p$unit, p$field, sep = "|")
stacked <- svydesign(ids = ~interaction(period, psu), strata = ~interaction(period, stratum),
                     weights = ~weight, data = p)
cells <- unique(p[, c("cell", "population")])
names(cells) <- c("cell", "Freq")
poststratified <- postStratify(stacked, ~cell, cells)
composites <- composites_of(service_items, FALSE)
out <- c(by_domain(stacked, p, service_items, composites, "weights"),
         by_domain(poststratified, p, service_items, composites, "poststratified"))
write_rows(out, c("case", "unit", "indicator", "estimate", "variance"),
           "reference_pooled.csv")

# multiplicity
pv <- read.csv(file.path(here, "pvalues.csv"), colClasses = c(family = "character"))
adjusted <- do.call(rbind, lapply(split(seq_len(nrow(pv)), pv$family), function(i) {
  data.frame(row = i, holm = p.adjust(pv$p[i], "holm"), bh = p.adjust(pv$p[i], "BH"),
             bonferroni = p.adjust(pv$p[i], "bonferroni"))
}))
adjusted <- adjusted[order(adjusted$row), ]
write.csv(data.frame(family = pv$family, p = fmt(pv$p), holm = fmt(adjusted$holm),
                     bh = fmt(adjusted$bh), bonferroni = fmt(adjusted$bonferroni)),
          file.path(here, "reference_p_adjust.csv"), row.names = FALSE, quote = FALSE)

# power and sample sizes
pw <- read.csv(file.path(here, "power_inputs.csv"))
rows <- lapply(seq_len(nrow(pw)), function(i) {
  r <- pw[i, ]
  equal <- power.prop.test(n = r$n1, p1 = r$p1, p2 = r$p2, sig.level = r$alpha,
                           strict = TRUE)$power
  equal_n <- power.prop.test(p1 = r$p1, p2 = r$p2, sig.level = r$alpha,
                             power = r$power, strict = TRUE)$n
  unequal <- bpower(r$p1, r$p2, n1 = r$n1, n2 = r$n2, alpha = r$alpha)
  sizes <- bsamsize(r$p1, r$p2, fraction = r$fraction, alpha = r$alpha,
                    power = r$power)
  c(fmt(c(equal, equal_n, unequal, sizes[["n1"]], sizes[["n2"]])))
})
table <- cbind(pw, do.call(rbind, rows))
colnames(table) <- c(names(pw), "power_equal", "n_equal", "power_unequal",
                     "bsamsize_n1", "bsamsize_n2")
write.csv(table, file.path(here, "reference_power.csv"), row.names = FALSE,
          quote = FALSE)

writeLines(capture.output(sessionInfo()),
           file.path(here, "reference_method_session.txt"))
