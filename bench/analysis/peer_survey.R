# Criterion shares and SEs per unit with R's survey package, for bench/analysis_speed.py.
#
#   Rscript bench/analysis/peer_survey.R responses.csv shares.csv
#
# For each criterion k: svyby(~y_k, ~unit, design, svyratio, denominator = ~a_k) with
# y_k = answered 4-5 and a_k = answered, i.e. the share satisfied among opinions,
# on svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, fpc = ~fpc).
# Prints the seconds spent on svydesign + svyby (reading the CSV excluded).
suppressPackageStartupMessages({
  library(survey)
  library(data.table)
})

args <- commandArgs(trailingOnly = TRUE)
data <- fread(args[1], colClasses = list(character = "unit"))
criteria <- setdiff(names(data), c("unit", "stratum", "psu", "weight", "fpc", "gender"))
for (k in seq_along(criteria)) {
  answer <- data[[criteria[k]]]
  set(data, j = paste0("a", k), value = as.numeric(!is.na(answer)))
  set(data, j = paste0("y", k), value = as.numeric(!is.na(answer) & answer >= 4))
}

started <- proc.time()[["elapsed"]]
design <- svydesign(
  ids = ~psu, strata = ~stratum, weights = ~weight, fpc = ~fpc, data = data
)
shares <- lapply(seq_along(criteria), function(k) {
  by_unit <- svyby(
    as.formula(paste0("~y", k)), ~unit, design, svyratio,
    denominator = as.formula(paste0("~a", k))
  )
  data.frame(
    unit = by_unit$unit, criterion = criteria[k],
    estimate = by_unit[[2]], se = by_unit[[3]]
  )
})
elapsed <- proc.time()[["elapsed"]] - started

fwrite(do.call(rbind, shares), args[2])
cat(sprintf('{"seconds": [%.6f]}\n', elapsed))
