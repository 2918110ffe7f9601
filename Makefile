# Two commands on a fresh machine:  `make run`  (install + main job)  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The CPU build of torch is pinned here, before the project, so that pip does not
# pull a multi-GB CUDA build; pyproject.toml itself does not cap torch.
TORCH  ?= torch==2.13.0

.PHONY: install run test test-fast bench clean chromium notebooks

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[bert,notebooks,browser,dev,cluster,tracking]'
	touch $(STAMP)

# Chromium for the browser test of the review widget (Debian's package, where apt can install
# it); only the tests need it, so `make run` does not wait for it.
chromium:
	@command -v chromium >/dev/null || ! command -v apt-get >/dev/null || apt-get install -y -q chromium >/dev/null \
		|| echo "could not install chromium with apt-get; tests/labels/test_review_browser.py will say so"

install: $(STAMP)

run: $(STAMP)
	$(BIN)/toolkit main

test: $(STAMP) chromium
	$(BIN)/python -m pytest

test-fast: $(STAMP)  # neither torch nor more than 2 s per test
	$(BIN)/python -m pytest -m "not slow and not bert"

notebooks: $(STAMP)  # every notebook executed into notebooks/html/ (not committed); after `make run`
	$(BIN)/jupyter nbconvert --to html --execute --ExecutePreprocessor.timeout=900 --output-dir notebooks/html notebooks/*.ipynb

bench: $(STAMP)
	$(BIN)/python bench/ingest_segment.py

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
