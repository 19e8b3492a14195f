"""apply: carry a saved Plan out against the cloud (README, "Apply").

- executor.py  the public face: check_applicable, apply_plan, ApplyOptions/Event/Result;
               the order (instances in parallel, everything else alone, in plan order) and
               stopping (first failure, or a signal)
- change.py    one change: compare-and-set, its journalled writes (busy instance, RAM
               propagation, lost answers), then waiting or reporting it scheduled
- compare.py   the fresh read of a target, in the plan's vocabulary, against `before`
- waiter.py    every wait, on the injectable clock
- calls.py     op name -> its write rule (the union of the kinds' writes()); references
               between changes
- journal.py   the append-only record of writes; lock.py  one apply per state folder

Imports plan.model, cloud, errors and cancellation only (tests/unit/apply/test_purity.py).
"""
