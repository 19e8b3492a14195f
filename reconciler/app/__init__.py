"""The use cases, as functions that print nothing (docs/architecture.md): what every command
and test calls; the CLI adds only the option parsing, the printing, the prompts and the exit
codes. Progress is reported through callbacks; errors are raised as ReconcilerError subclasses
(SpecError, ObserveError, ApplyError, PlanFileError), never printed.

    plan.py        load, observe, make_plan, observe_and_plan, new_plan_id
    saved_plan.py  read a saved plan back, check it may still be applied, resume it
    apply.py       the apply locks, the journal, apply (with settling of a resumed plan)
    drift.py       the drift report: observe every instance, compare with the spec
    importer.py    the spec files of what exists (`reconciler import`)

Imports go one way: apply -> saved_plan -> plan; drift and importer use plan. SDKs, the
planner and the executor are imported inside the functions, so importing this package stays
cheap (`reconciler --help`).
"""
