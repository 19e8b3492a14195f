"""The vocabulary every layer shares, with no I/O: imports nothing from the rest of the
package, so cloud, state, spec, plan, apply and drift may all use it."""
