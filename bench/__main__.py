"""Run benchmarks: `python -m bench` (all) or `python -m bench page submit ...`."""

import argparse
import importlib

BENCHMARKS = {
    "page": "bench.page_weight",
    "submit": "bench.submit_throughput",
    "responses": "bench.responses_scale",
    "analysis": "bench.analysis_speed",
    "integrity": "bench.integrity_sim",
    "flags": "bench.flag_pass_scale",
    "calibration": "bench.calibration",
    "weaknesses": "bench.weaknesses",
    "coverage": "bench.coverage",
    "sample": "bench.sample_scale",
    "register": "bench.register_import",
    "recompute": "bench.recompute",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", choices=[*BENCHMARKS, []], default=list(BENCHMARKS)
    )
    for name in parser.parse_args().names or BENCHMARKS:
        importlib.import_module(BENCHMARKS[name]).run()


if __name__ == "__main__":
    main()
