PYTHON ?= python3

.PHONY: codegen check-codegen golden test dist-check fuzz bench bench-ops bench-train bench-gpt bench-codegen train corpus corpus-record

codegen:  ## regenerate generated/ from derivatives.yaml
	$(PYTHON) -m codegen --gradspec

check-codegen:  ## fail if generated/ is not what derivatives.yaml generates
	$(PYTHON) -m codegen --gradspec --check

golden:  ## rewrite the golden files that pin the generator's output (review the diff!)
	$(PYTHON) -m codegen --standalone --spec tests/golden/spec.yaml --out tests/golden/expected

test:
	$(PYTHON) -m pytest -q

dist-check:  ## sdist and wheel as users get them: the wheel installs only gradspec and trains; SDIST_TESTS=1 adds the sdist's tests on the oldest numpy
	$(PYTHON) .ci/dist_check.py $(if $(SDIST_TESTS),--sdist-tests)

FUZZ_PROGRAMS ?= 50000
FUZZ_SEED ?= 1
FUZZ_JOBS ?= 2
fuzz:  ## long differential run against torch; each new kind of disagreement, shrunk, becomes a tests/fuzz_regressions/ script
	PYTHONPATH=tests nice -n 10 $(PYTHON) -m difftest --programs $(FUZZ_PROGRAMS) --seed $(FUZZ_SEED) \
		--jobs $(FUZZ_JOBS) --write tests/fuzz_regressions

bench:  ## one thread, and without the BLAS overrides that force a slow kernel on this machine
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(PYTHON) -m bench.bench_core

bench-ops:
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(PYTHON) -m bench.bench_ops

bench-train:  ## the main job's training step against torch's, one thread
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(PYTHON) -m bench.bench_train

bench-gpt:  ## the char-level GPT's training step against torch's, one thread
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(PYTHON) -m bench.bench_gpt

bench-codegen:  ## codegen time against the spec's size (derivatives.yaml copied up to 60 times: 8,000+ entries)
	$(PYTHON) -m bench.bench_codegen

train:  ## the main job: seed 003's network on the embedded digits
	$(PYTHON) -m gradspec.train

corpus:  ## run the corpus of public PyTorch scripts under torch and gradspec and compare what they print
	$(PYTHON) -m corpus

corpus-record:  ## rewrite corpus/expected/ from torch's runs (needs torch==2.13.0; review the diff)
	$(PYTHON) -m corpus --record
