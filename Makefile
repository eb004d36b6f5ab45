# make report: REPORT.pdf from results/*/results.json (python -m experiments.report writes
# report/body.tex) and derivations/*.tex. Any LaTeX error, undefined reference or overfull line fails.
PYTHON ?= python
# make handout: the student version of the assignment (fnn handout; HANDOUT_FLAGS=--extras
# adds dropout and the losses' gradients as stubs). OUT must be new, empty or an earlier handout.
OUT ?= build/handout
HANDOUT_FLAGS ?=

report:
	$(PYTHON) -m experiments.report
	latexmk -pdf -halt-on-error -interaction=nonstopmode -file-line-error -outdir=report/build report/REPORT.tex
	@! grep -E "undefined references|Reference .* undefined|Citation .* undefined|Overfull" report/build/REPORT.log
	cp report/build/REPORT.pdf REPORT.pdf

derivations:
	$(MAKE) -C derivations

handout:
	$(PYTHON) -m fnn handout $(HANDOUT_FLAGS) $(OUT)

clean:
	rm -rf report/build report/body.tex
	$(MAKE) -C derivations clean

.PHONY: report derivations handout clean
