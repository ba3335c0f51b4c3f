# `make prereqs`: the tools a fresh clone needs, checked before anything is installed, one line
# per missing tool (tools/prereqs.sh). Another check joins as a prerequisite: `prereqs: my-check`.
.PHONY: prereqs
prereqs:  ## check that Python 3.11+, Node 20+ and npm are installed (one line per missing tool)
	@sh tools/prereqs.sh $(PYTHON)
