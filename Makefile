# make report: REPORT.pdf and SUPPLEMENT.pdf from results/*/results.json and report/*.tex.
# python -m experiments.report writes report/build/numbers.tex and fails if a claim of the prose
# is false or it cites an unknown number; then LaTeX (any error, undefined reference or number,
# or overfull line fails), then the page limit: at most 20 pages before REPORT's appendix.
PYTHON ?= python
LATEXMK = latexmk -pdf -halt-on-error -interaction=nonstopmode -file-line-error -outdir=report/build
# make handout: the student version of the assignment (fnn handout; HANDOUT_FLAGS=--extras
# adds dropout and the losses' gradients as stubs). OUT must be new, empty or an earlier handout.
OUT ?= build/handout
HANDOUT_FLAGS ?=

report:
	$(PYTHON) -m experiments.report
	$(LATEXMK) report/REPORT.tex
	$(LATEXMK) report/SUPPLEMENT.tex
	@! grep -E "undefined references|Reference .* undefined|Citation .* undefined|Overfull|Package fnn Warning" report/build/REPORT.log report/build/SUPPLEMENT.log
	$(PYTHON) -m experiments.report --page-limit report/build/REPORT.aux
	cp report/build/REPORT.pdf report/build/SUPPLEMENT.pdf .

derivations:
	$(MAKE) -C derivations

handout:
	$(PYTHON) -m fnn handout $(HANDOUT_FLAGS) $(OUT)

clean:
	rm -rf report/build
	$(MAKE) -C derivations clean

.PHONY: report derivations handout clean
